"""Names under which anyone may have a site: an `embed_origins` wildcard on one of them
(`https://*.github.io`, `https://*.co.uk`) would let every site there show the chat.

The full Public Suffix List has some 10,000 entries and changes every week; no copy of it is
installed with botfleet, and fetching it at run time would make a binding's validity depend on
the network. This is a short list of the ones a small business's site is most likely to sit
under (docs/channels.md, "Which sites may show the chat", says so): shared hosting and site
builders, and the second-level names of country domains (`co.uk`, `com.au`...). A name of
two labels whose first is one of `_SECOND_LEVEL` and whose last is a country's two letters
(`com.es`, `co.nz`, `org.mx`) counts too, for the countries not listed.
"""

from __future__ import annotations

#: Shared hosting, site builders and tunnels: each subdomain is someone else's site.
SHARED_HOSTING = frozenset(
    {
        "github.io",
        "gitlab.io",
        "netlify.app",
        "vercel.app",
        "now.sh",
        "pages.dev",
        "workers.dev",
        "r2.dev",
        "trycloudflare.com",
        "herokuapp.com",
        "appspot.com",
        "web.app",
        "firebaseapp.com",
        "azurewebsites.net",
        "azurestaticapps.net",
        "cloudapp.net",
        "cloudfront.net",
        "amazonaws.com",
        "elasticbeanstalk.com",
        "blogspot.com",
        "wordpress.com",
        "wpcomstaging.com",
        "wixsite.com",
        "squarespace.com",
        "webflow.io",
        "myshopify.com",
        "onrender.com",
        "fly.dev",
        "glitch.me",
        "repl.co",
        "replit.dev",
        "surge.sh",
        "ngrok.io",
        "ngrok.app",
        "ngrok-free.app",
        "loca.lt",
        "codeberg.page",
        "bitbucket.io",
        "readthedocs.io",
        "neocities.org",
        "carrd.co",
        "framer.website",
        "weebly.com",
        "jimdosite.com",
        "strikingly.com",
        "godaddysites.com",
    }
)

#: Second-level names of country domains, where anyone registers their own name.
COUNTRY_SECOND_LEVEL = frozenset(
    {
        "co.uk", "org.uk", "me.uk", "ltd.uk", "plc.uk", "net.uk", "ac.uk", "gov.uk",
        "com.au", "net.au", "org.au", "id.au", "asn.au",
        "co.nz", "net.nz", "org.nz",
        "com.br", "net.br", "org.br", "art.br", "blog.br",
        "co.jp", "ne.jp", "or.jp", "ac.jp", "go.jp", "gr.jp",
        "co.kr", "or.kr", "ne.kr",
        "com.cn", "net.cn", "org.cn",
        "com.hk", "com.tw", "com.sg", "com.my", "co.id", "co.th", "in.th", "com.vn", "com.ph",
        "co.in", "net.in", "org.in", "firm.in", "gen.in", "ind.in",
        "co.za", "org.za", "web.za",
        "co.il", "org.il",
        "com.tr", "com.mx", "org.mx", "com.ar", "com.co", "com.pe", "com.uy", "com.ec",
        "com.es", "org.es", "nom.es",
        "com.pt", "co.at", "or.at", "com.pl", "net.pl", "org.pl", "com.gr", "com.ua",
        "co.ke", "co.ng", "com.ng", "com.eg", "co.ma",
        "eu.com", "uk.com", "us.com", "de.com", "eu.org",
    }
)  # fmt: skip

#: First labels of a country's second-level names (`com.es`, `co.nz`, `org.mx`...).
_SECOND_LEVEL = frozenset(
    {"co", "com", "net", "org", "or", "ne", "ac", "edu", "gov", "gob", "go", "ltd", "plc", "nom"}
)


def shared_suffix(host: str) -> bool:
    """Whether `host` (lower case, ASCII) is a name under which anyone may have a site."""
    if host in SHARED_HOSTING or host in COUNTRY_SECOND_LEVEL:
        return True
    labels = host.split(".")
    return (
        len(labels) == 2
        and labels[0] in _SECOND_LEVEL
        and len(labels[1]) == 2
        and labels[1].isalpha()
    )
