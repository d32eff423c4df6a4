"""A template's tree with its `{% if %}` branches as scopes, for finding the names it reads.

Jinja's own tracking (`meta.find_undeclared_variables`, which `render.undeclared_in` runs)
reads a name that any branch of an `{% if %}` sets (`{% set %}`, `{% set x %}...{% endset %}`,
`{% macro %}`) from the context, *at the start of the scope*: the branch may not run, and the
name must then hold what it held before. It so reports `h` in
`{% if data.x %}{% set h = 1 %}{{ h }}{% endif %}`, which renders "1", as a name the turn
must give. What the sandbox renders decides instead (tests/unit/flows/test_validate_branch_sets.py
renders each case); a turn gives no such name, so the context's value is a missing one:

- a read after a `set` in the same branch sees the set value;
- a read after the `{% endif %}` sees it when the branch that set it ran, and else the missing
  value: some turns have it, so it is no unknown name (a name missing at *every* turn is);
- a read before any `set` of it (earlier in the branch, before the `{% if %}`, or in another
  branch of the same `{% if %}`) sees the missing value at every turn: still unknown.

`scoped_branches` gives a tree on which Jinja's unchanged tracking decides just that: each
branch becomes a `Scope` of its own (what it sets stays in it, as for a loop's body), and what
follows the `{% if %}` a `Scope` that first sets every name a branch sets. The rest is nested
rather than put after a plain set in the same scope, because an inner scope sees every name
its outer one sets, however late (`{{ h }}` in a branch would see a later `set h`).
"""

from __future__ import annotations

from copy import copy
from typing import Any

from jinja2 import nodes
from jinja2.idtracking import find_symbols

#: The most `{% if %}`s that set a name a template may have for them to be read as scopes:
#: each nests what follows it one scope deeper, which Jinja's tracking walks recursively.
#: Past it the tree is read as it is (a name set in a branch is then reported, as before).
MAX_SCOPED_IFS = 64


class _TooMany(Exception):
    pass


def scoped_branches(tree: nodes.Template, environment: Any) -> nodes.Template | None:
    """A copy of `tree` (which is left as it is) with the branches of each `{% if %}` that
    sets a name as scopes; None when no `{% if %}` sets one, or more than `MAX_SCOPED_IFS`
    do (the tree is then read as it is)."""
    rewriter = _Rewriter(environment)
    try:
        body = rewriter.body(tree.body)
    except _TooMany:
        return None
    if not rewriter.scoped:
        return None
    return nodes.Template(body, lineno=tree.lineno, environment=environment)


class _Rewriter:
    def __init__(self, environment: Any) -> None:
        self.environment = environment
        self.scoped = 0

    def body(self, statements: list[nodes.Node]) -> list[nodes.Node]:
        """The statements of one scope, each `{% if %}` that sets a name (and what follows
        it, nested in a scope) rewritten."""
        out: list[nodes.Node] = []
        for index, statement in enumerate(statements):
            if not isinstance(statement, nodes.If) or not (stored := _stored_by(statement)):
                out.append(self.inside(statement))
                continue
            self.scoped += 1
            if self.scoped > MAX_SCOPED_IFS:
                raise _TooMany
            out.extend(self._branches(statement))
            sets: list[nodes.Node] = [self._set(name, statement.lineno) for name in sorted(stored)]
            rest = self.body(statements[index + 1 :])
            out.append(nodes.Scope([*sets, *rest], lineno=statement.lineno, **self._env))
            break
        return out

    def inside(self, node: nodes.Node) -> nodes.Node:
        """`node` with the statements it holds (a loop's, a macro's...) rewritten; the node
        itself when it holds none (an expression, an output)."""
        if not isinstance(node, nodes.Stmt):
            return node
        changes: dict[str, Any] = {}
        for field in ("body", "else_", "elif_"):
            value = getattr(node, field, None)
            if not isinstance(value, list):
                continue
            # An `elif` is an `If` of its own only in the tree: its body is one more branch.
            new = [self.inside(item) for item in value] if field == "elif_" else self.body(value)
            if len(new) != len(value) or any(a is not b for a, b in zip(new, value, strict=True)):
                changes[field] = new
        if not changes:
            return node
        rewritten = copy(node)  # shallow: the parsed tree is shared and never written to
        for field, value in changes.items():
            setattr(rewritten, field, value)
        return rewritten

    def _branches(self, node: nodes.If) -> list[nodes.Node]:
        """The tests of `node` and its `elif`s, where the `{% if %}` stood (they read what was
        set before it), and each branch as a scope of its own."""
        out: list[nodes.Node] = [nodes.ExprStmt(node.test, lineno=node.lineno, **self._env)]
        out.append(self._scope(node.body, node.lineno))
        for elif_ in node.elif_:
            out.append(nodes.ExprStmt(elif_.test, lineno=elif_.lineno, **self._env))
            out.append(self._scope(elif_.body, elif_.lineno))
        out.append(self._scope(node.else_, node.lineno))
        return out

    def _scope(self, statements: list[nodes.Node], lineno: int) -> nodes.Scope:
        return nodes.Scope(self.body(statements), lineno=lineno, **self._env)

    def _set(self, name: str, lineno: int) -> nodes.Assign:
        target = nodes.Name(name, "store", lineno=lineno, **self._env)
        value = nodes.Const(None, lineno=lineno, **self._env)
        return nodes.Assign(target, value, lineno=lineno, **self._env)

    @property
    def _env(self) -> dict[str, Any]:
        return {"environment": self.environment}


def _stored_by(node: nodes.If) -> set[str]:
    """The names `node` sets in the scope it stands in, by Jinja's own reckoning (a `set` in a
    nested `{% if %}` is one, one in a loop's body is not)."""
    return set(find_symbols([node]).stores)
