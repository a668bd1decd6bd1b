"""Who may change an outcome and who must agree: adjustments, contests and overrides.

Each action is one transaction holding the writer lock: the check of the actor's rights, the
change and its audit entry are kept together or not at all. A refused action changes nothing
but is logged as a ``refused.<action>`` entry with the reason, and raised as :class:`RefusedError`.

Separation of duties: nobody approves or votes on what they proposed, nor on an adjustment or
override that pays themselves or their own team; nobody decides a contest they filed or one
about their own team. Adjustments are routed by the money at stake: the routing table (data,
editable by whoever holds ``edit_routing``) says, from each amount up, which groups of roles
must each sign; the routing in force when an adjustment is proposed is the one it follows.
"""

from __future__ import annotations

import hashlib
import json
import math
import secrets
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

import pandas as pd
from sqlalchemy import Connection, Engine, inspect, text

from toolkit.governance.audit import append, append_entry
from toolkit.governance.database import open_engine, writing
from toolkit.governance.errors import GovernanceError

T = TypeVar("T")
CIRCUMSTANCES = ("merger", "acquisition", "regulatory_incident", "disaster", "restructuring")
PERSON_COLUMNS = ("proposed_by", "beneficiary", "person_id", "issued_by", "filed_by", "decided_by")
VIEWS = ("adjustments", "approvals", "statements", "contests", "overrides", "disputes", "people")
SHARING_RULES = ("equal", "contribution", "shapley")
RULES = ("owner", *SHARING_RULES)


class RefusedError(GovernanceError):
    """An action the actor may not take; it was logged and changed nothing."""


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def _json(rows: Sequence[Sequence[str]]) -> str:
    return json.dumps([list(group) for group in rows])


class Governance:
    """The governance ledger of one database: people, rights and the workflows on them.

    Parameters
    ----------
    engine : Engine
        An engine from :func:`toolkit.governance.open_engine`.

    Examples
    --------
    >>> gov = Governance.open("gov.db")  # doctest: +SKIP
    >>> gov.add_person("system", "hr-anna", "Anna", ["hr"])  # doctest: +SKIP
    >>> n = gov.propose("hr-anna", "apps", "2026Q1", 2_500, "data_error", "INC-7 mis-timed")
    ... # doctest: +SKIP
    """

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    @classmethod
    def open(cls, target: str | Path | None) -> Governance:
        """Open (and migrate) a governance database by path or URL."""
        return cls(open_engine(target))

    # -- the frame every action runs in ------------------------------------------------------
    def _act(self, actor: str, action: str, subject: str, work: Callable[[Connection], T]) -> T:
        """Run ``work`` in one locked transaction; log and re-raise a refusal."""
        try:
            with writing(self.engine) as connection:
                return work(connection)
        except RefusedError as refusal:
            append(self.engine, actor, f"refused.{action}", subject, {"reason": str(refusal)})
            raise

    @staticmethod
    def _person(connection: Connection, person_id: str) -> dict[str, Any]:
        row = connection.execute(
            text("SELECT person_id, name, team_id, vendor_id FROM people WHERE person_id = :p"),
            {"p": person_id},
        ).first()
        if row is None:
            raise RefusedError(f"unknown person {person_id!r}")
        roles = connection.execute(
            text("SELECT role FROM person_roles WHERE person_id = :p ORDER BY role"),
            {"p": person_id},
        ).scalars()
        return {**row._mapping, "roles": list(roles)}

    @staticmethod
    def _roles_with(connection: Connection, person: dict, permission: str) -> list[str]:
        granted = connection.execute(
            text("SELECT role FROM permissions WHERE permission = :permission"),
            {"permission": permission},
        ).scalars()
        return sorted(set(granted) & set(person["roles"]))

    def _require(self, connection: Connection, actor: str, permission: str) -> dict[str, Any]:
        person = self._person(connection, actor)
        if not self._roles_with(connection, person, permission):
            raise RefusedError(
                f"{actor} ({', '.join(person['roles']) or 'no role'}) may not {permission}"
            )
        return person

    @staticmethod
    def _next_id(connection: Connection, table: str, column: str) -> int:
        return int(connection.execute(text(f"SELECT MAX({column}) FROM {table}")).scalar() or 0) + 1

    @staticmethod
    def _one(connection: Connection, table: str, column: str, key: int) -> dict[str, Any]:
        row = connection.execute(
            text(f"SELECT * FROM {table} WHERE {column} = :key"), {"key": key}
        ).first()
        if row is None:
            raise RefusedError(f"there is no {table[:-1]} {key}")
        return dict(row._mapping)

    # -- people ------------------------------------------------------------------------------
    def add_person(
        self,
        actor: str,
        person_id: str,
        name: str,
        roles: Sequence[str],
        team: str | None = None,
        vendor: str | None = None,
    ) -> None:
        """Register a person with their roles (by ``system`` for the first, else ``manage_people``).

        Parameters
        ----------
        actor : str
            Who registers them: ``system`` while nobody holds ``manage_people`` yet.
        person_id, name : str
            Their id and name.
        roles : sequence of str
            Role names (see the ``roles`` table).
        team, vendor : str, optional
            The team they belong to (which they cannot approve for), the vendor they represent.
        """

        def work(connection: Connection) -> None:
            managers = connection.execute(
                text(
                    "SELECT COUNT(*) FROM person_roles r JOIN permissions p ON p.role = r.role "
                    "WHERE p.permission = 'manage_people'"
                )
            ).scalar()
            if actor == "system" and managers:
                raise RefusedError("system may not manage_people once a person holds that right")
            if actor != "system":
                self._require(connection, actor, "manage_people")
            known = set(connection.execute(text("SELECT role FROM roles")).scalars())
            unknown = sorted(set(roles) - known)
            if unknown or not roles:
                raise RefusedError(f"unknown roles {unknown} (roles: {sorted(known)})")
            if not person_id.strip() or not name.strip():
                raise RefusedError("a person needs an id and a name")
            if connection.execute(
                text("SELECT 1 FROM people WHERE person_id = :p"), {"p": person_id}
            ).first():
                raise RefusedError(f"{person_id!r} is already registered")
            connection.execute(
                text("INSERT INTO people VALUES (:p, :n, :t, :v)"),
                {"p": person_id, "n": name, "t": team, "v": vendor},
            )
            for role in sorted(set(roles)):
                connection.execute(
                    text("INSERT INTO person_roles VALUES (:p, :r)"), {"p": person_id, "r": role}
                )
            payload = {"name": name, "roles": sorted(set(roles)), "team": team, "vendor": vendor}
            append_entry(connection, actor, "person.added", f"person:{person_id}", payload)

        self._act(actor, "add_person", f"person:{person_id}", work)

    # -- routing ---------------------------------------------------------------------------------
    def routing(self) -> list[tuple[float, list[list[str]]]]:
        """Return the routing table: from each amount up, the role groups that must each sign."""
        with self.engine.connect() as connection:
            rows = connection.execute(text("SELECT from_amount, groups FROM routing ORDER BY 1"))
            return [(float(amount), json.loads(groups)) for amount, groups in rows]

    def set_routing(self, actor: str, table: Sequence[tuple[float, Sequence[Sequence[str]]]]):
        """Replace the routing table (``edit_routing``); it must start at 0 and name known roles."""

        def work(connection: Connection) -> None:
            self._require(connection, actor, "edit_routing")
            known = set(connection.execute(text("SELECT role FROM roles")).scalars())
            amounts = [float(amount) for amount, _ in table]
            if not amounts or amounts[0] != 0 or amounts != sorted(set(amounts)):
                raise RefusedError("routing amounts must start at 0 and rise strictly")
            if not all(math.isfinite(a) for a in amounts):
                raise RefusedError("routing amounts must be finite")
            for amount, groups in table:
                roles = {role for group in groups for role in group}
                if not groups or not all(groups) or roles - known:
                    raise RefusedError(
                        f"routing from {amount:,.0f}: every group needs known roles "
                        f"(unknown: {sorted(roles - known)})"
                    )
            connection.exec_driver_sql("DELETE FROM routing")
            for amount, groups in table:
                connection.execute(
                    text("INSERT INTO routing VALUES (:a, :g)"),
                    {"a": float(amount), "g": _json(groups)},
                )
            payload = {"table": [[float(a), [list(g) for g in gs]] for a, gs in table]}
            append_entry(connection, actor, "routing.set", "routing", payload)

        self._act(actor, "set_routing", "routing", work)

    # -- adjustments -----------------------------------------------------------------------------
    def propose(
        self,
        actor: str,
        team: str,
        period: str,
        amount: float,
        reason_code: str,
        evidence: str,
        beneficiary: str | None = None,
    ) -> int:
        """Propose an adjustment of a team's award for a period, with its reason and evidence.

        Parameters
        ----------
        actor : str
            Who proposes (``propose``).
        team, period : str
            Whose award, for which plan period (e.g. ``2026Q1``).
        amount : float
            The change in money (positive pays more); routing goes by its absolute value.
        reason_code : str
            One of the ``reason_codes`` table.
        evidence : str
            What supports it (ticket numbers, documents).
        beneficiary : str, optional
            The person it pays, when it pays one person rather than the team.

        Returns
        -------
        int
            The adjustment's id.
        """
        subject = f"adjustment:{team}:{period}"

        def work(connection: Connection) -> int:
            self._require(connection, actor, "propose")
            if not isinstance(amount, int | float) or not math.isfinite(amount) or amount == 0:
                raise RefusedError(
                    f"amount must be a finite, non-zero sum of money, not {amount!r}"
                )
            codes = set(connection.execute(text("SELECT code FROM reason_codes")).scalars())
            if reason_code not in codes:
                raise RefusedError(f"unknown reason code {reason_code!r} (codes: {sorted(codes)})")
            if not evidence.strip():
                raise RefusedError("an adjustment needs its evidence")
            groups = connection.execute(
                text(
                    "SELECT groups FROM routing WHERE from_amount <= :a "
                    "ORDER BY from_amount DESC LIMIT 1"
                ),
                {"a": abs(float(amount))},
            ).scalar()
            number = self._next_id(connection, "adjustments", "adjustment_id")
            row = {
                "adjustment_id": number,
                "team_id": team,
                "period": period,
                "beneficiary": beneficiary,
                "amount": float(amount),
                "reason_code": reason_code,
                "evidence": evidence,
                "proposed_by": actor,
                "proposed_at": _now(),
                "groups": groups,
                "status": "proposed",
                "decided_at": None,
            }
            connection.execute(
                text(f"INSERT INTO adjustments VALUES ({', '.join(':' + k for k in row)})"), row
            )
            payload = {**row, "groups": json.loads(groups)}
            append_entry(connection, actor, "adjustment.proposed", f"adjustment:{number}", payload)
            return number

        return self._act(actor, "propose", subject, work)

    @staticmethod
    def _conflict(person: dict, proposer: str, team: str, beneficiary: str | None) -> str | None:
        """Return the separation-of-duties reason a person may not sign, or None."""
        if person["person_id"] == proposer:
            return "nobody approves what they proposed"
        if person["person_id"] == beneficiary:
            return "nobody approves what pays themselves"
        if person["team_id"] is not None and person["team_id"] == team:
            return f"nobody approves what pays their own team ({team})"
        return None

    def _sign(self, actor: str, number: int, decision: str, comment: str) -> str:
        def work(connection: Connection) -> str:
            person = self._require(connection, actor, "approve")
            row = self._one(connection, "adjustments", "adjustment_id", number)
            if row["status"] != "proposed":
                raise RefusedError(f"adjustment {number} is already {row['status']}")
            if decision == "reject" and not comment.strip():
                raise RefusedError("a rejection needs its reason")
            conflict = self._conflict(
                person, row["proposed_by"], row["team_id"], row["beneficiary"]
            )
            if conflict:
                raise RefusedError(f"{actor} may not sign adjustment {number}: {conflict}")
            signed = connection.execute(
                text("SELECT person_id, role FROM approvals WHERE adjustment_id = :n"),
                {"n": number},
            ).all()
            if actor in {who for who, _ in signed}:
                raise RefusedError(f"{actor} has already signed adjustment {number}")
            groups = json.loads(row["groups"])
            used = [role for _, role in signed]
            open_groups = [g for g in groups if not any(role in g for role in used)]
            fitting = [g for g in open_groups if set(g) & set(person["roles"])]
            if not fitting:
                needed = " and ".join("/".join(g) for g in open_groups) or "nothing more"
                raise RefusedError(
                    f"adjustment {number} of {abs(row['amount']):,.0f} needs {needed}; "
                    f"{actor} is {', '.join(person['roles'])}"
                )
            role = sorted(set(fitting[0]) & set(person["roles"]))[0]
            connection.execute(
                text("INSERT INTO approvals VALUES (:n, :p, :r, :d, :c, :t)"),
                {"n": number, "p": actor, "r": role, "d": decision, "c": comment, "t": _now()},
            )
            status = "proposed"
            if decision == "reject":
                status = "rejected"
            elif len(open_groups) == 1:
                status = "approved"
            if status != "proposed":
                connection.execute(
                    text(
                        "UPDATE adjustments SET status = :s, decided_at = :t "
                        "WHERE adjustment_id = :n"
                    ),
                    {"s": status, "t": _now(), "n": number},
                )
            payload = {"role": role, "comment": comment, "status": status, "amount": row["amount"]}
            append_entry(
                connection, actor, f"adjustment.{decision}d", f"adjustment:{number}", payload
            )
            return status

        return self._act(actor, decision, f"adjustment:{number}", work)

    def approve(self, actor: str, adjustment: int, comment: str = "") -> str:
        """Sign an adjustment for one of its open role groups; return its status after.

        Returns
        -------
        str
            ``approved`` once every group has signed, else ``proposed``.
        """
        return self._sign(actor, adjustment, "approve", comment)

    def reject(self, actor: str, adjustment: int, comment: str) -> str:
        """Reject an adjustment (by someone who could have approved it); return ``rejected``."""
        return self._sign(actor, adjustment, "reject", comment)

    # -- statements and contests -----------------------------------------------------------------
    def issue_statement(
        self,
        actor: str,
        team: str,
        period: str,
        amount: float,
        window_days: int,
        on: date | None = None,
        vendor: str | None = None,
    ) -> int:
        """Issue a team's (or a vendor's) statement for a period, open to contest for some days.

        Returns
        -------
        int
            The statement's id.
        """
        issued = on or datetime.now(UTC).date()

        def work(connection: Connection) -> int:
            self._require(connection, actor, "issue_statement")
            if not isinstance(window_days, int) or window_days < 1:
                raise RefusedError(
                    f"window_days must be a whole number of days >= 1, not {window_days}"
                )
            number = self._next_id(connection, "statements", "statement_id")
            row = {
                "statement_id": number,
                "team_id": team,
                "vendor_id": vendor,
                "period": period,
                "amount": float(amount),
                "issued_by": actor,
                "issued_on": issued.isoformat(),
                "window_days": window_days,
            }
            connection.execute(
                text(f"INSERT INTO statements VALUES ({', '.join(':' + k for k in row)})"), row
            )
            append_entry(connection, actor, "statement.issued", f"statement:{number}", row)
            return number

        return self._act(actor, "issue_statement", f"statement:{team}:{period}", work)

    def contest(self, actor: str, statement: int, grounds: str, on: date | None = None) -> int:
        """Contest a statement within its window: a team lead for their team, a vendor its own.

        Returns
        -------
        int
            The contest's id; it stays open until :meth:`decide_contest`.
        """
        filed = on or datetime.now(UTC).date()

        def work(connection: Connection) -> int:
            person = self._require(connection, actor, "contest")
            row = self._one(connection, "statements", "statement_id", statement)
            own_team = person["team_id"] is not None and person["team_id"] == row["team_id"]
            own_vendor = person["vendor_id"] is not None and person["vendor_id"] == row["vendor_id"]
            if not (own_team or own_vendor):
                raise RefusedError(
                    f"{actor} may contest only their own team's or vendor's statements"
                )
            issued = date.fromisoformat(row["issued_on"])
            closes = issued + timedelta(days=row["window_days"])
            if filed > closes:
                raise RefusedError(
                    f"the contest window of statement {statement} closed on {closes} "
                    f"({row['window_days']} days after {issued})"
                )
            if filed < issued:
                raise RefusedError(f"statement {statement} was issued only on {issued}")
            if not grounds.strip():
                raise RefusedError("a contest needs its grounds")
            number = self._next_id(connection, "contests", "contest_id")
            values = {
                "contest_id": number,
                "statement_id": statement,
                "filed_by": actor,
                "filed_on": filed.isoformat(),
                "grounds": grounds,
                "status": "open",
                "decided_by": None,
                "decision": None,
                "decided_on": None,
            }
            connection.execute(
                text(f"INSERT INTO contests VALUES ({', '.join(':' + k for k in values)})"), values
            )
            append_entry(connection, actor, "contest.filed", f"contest:{number}", values)
            return number

        return self._act(actor, "contest", f"statement:{statement}", work)

    def decide_contest(
        self, actor: str, contest: int, outcome: str, reason: str, on: date | None = None
    ) -> None:
        """Decide an open contest: ``upheld`` or ``dismissed``, with the reason."""
        decided = on or datetime.now(UTC).date()

        def work(connection: Connection) -> None:
            person = self._require(connection, actor, "decide_contest")
            row = self._one(connection, "contests", "contest_id", contest)
            statement = self._one(connection, "statements", "statement_id", row["statement_id"])
            if row["status"] != "open":
                raise RefusedError(f"contest {contest} is already {row['status']}")
            if outcome not in ("upheld", "dismissed"):
                raise RefusedError(f"outcome must be 'upheld' or 'dismissed', not {outcome!r}")
            if actor == row["filed_by"] or person["team_id"] == statement["team_id"]:
                raise RefusedError(f"{actor} may not decide a contest they or their team filed")
            if not reason.strip():
                raise RefusedError("a decision needs its reason")
            connection.execute(
                text(
                    "UPDATE contests SET status = :s, decided_by = :b, decision = :r, "
                    "decided_on = :d WHERE contest_id = :n"
                ),
                {"s": outcome, "b": actor, "r": reason, "d": decided.isoformat(), "n": contest},
            )
            payload = {"outcome": outcome, "reason": reason, "decided_on": decided.isoformat()}
            append_entry(connection, actor, "contest.decided", f"contest:{contest}", payload)

        self._act(actor, "decide_contest", f"contest:{contest}", work)

    # -- overrides -------------------------------------------------------------------------------
    def propose_override(
        self,
        actor: str,
        team: str,
        period: str,
        amount: float,
        circumstance: str,
        description: str,
        quorum: int,
    ) -> int:
        """Propose a review-board override for an extraordinary circumstance, with its quorum.

        Parameters
        ----------
        actor : str
            A review-board member (``propose_override``).
        team, period : str
            The award it overrides.
        amount : float
            The change in money.
        circumstance : str
            One of :data:`CIRCUMSTANCES`.
        description : str
            The documented circumstance.
        quorum : int
            How many other board members must approve (n of the m who may vote).

        Returns
        -------
        int
            The override's id.
        """

        def work(connection: Connection) -> int:
            person = self._require(connection, actor, "propose_override")
            if circumstance not in CIRCUMSTANCES:
                raise RefusedError(f"circumstance must be one of {list(CIRCUMSTANCES)}")
            if not description.strip():
                raise RefusedError("an override needs the circumstance documented")
            if not isinstance(amount, int | float) or not math.isfinite(amount) or amount == 0:
                raise RefusedError(
                    f"amount must be a finite, non-zero sum of money, not {amount!r}"
                )
            voters = self._voters(connection, actor, team)
            if person["team_id"] == team:
                raise RefusedError(f"{actor} may not propose an override for their own team")
            if not isinstance(quorum, int) or not 1 <= quorum <= len(voters):
                raise RefusedError(
                    f"quorum must be between 1 and the {len(voters)} board members who may vote"
                )
            number = self._next_id(connection, "overrides", "override_id")
            row = {
                "override_id": number,
                "team_id": team,
                "period": period,
                "amount": float(amount),
                "circumstance": circumstance,
                "description": description,
                "proposed_by": actor,
                "proposed_at": _now(),
                "quorum": quorum,
                "board_size": len(voters),
                "status": "proposed",
                "decided_at": None,
            }
            connection.execute(
                text(f"INSERT INTO overrides VALUES ({', '.join(':' + k for k in row)})"), row
            )
            append_entry(connection, actor, "override.proposed", f"override:{number}", row)
            return number

        return self._act(actor, "propose_override", f"override:{team}:{period}", work)

    def voters(self, proposer: str, team: str) -> list[str]:
        """Return who may vote on an override a person proposes for a team.

        Parameters
        ----------
        proposer : str
            Who proposes it.
        team : str
            The team whose award it overrides.

        Returns
        -------
        list of str
            Every holder of ``vote_override`` but the proposer and the team's own members.
        """
        with self.engine.connect() as connection:
            return self._voters(connection, proposer, team)

    @staticmethod
    def _voters(connection: Connection, proposer: str, team: str) -> list[str]:
        """Board members who may vote: all but the proposer and the team's own members."""
        rows = connection.execute(
            text(
                "SELECT DISTINCT r.person_id, p.team_id FROM person_roles r "
                "JOIN permissions m ON m.role = r.role JOIN people p ON p.person_id = r.person_id "
                "WHERE m.permission = 'vote_override' ORDER BY r.person_id"
            )
        ).all()
        return [who for who, their_team in rows if who != proposer and their_team != team]

    def vote_override(self, actor: str, override: int, approve: bool) -> str:
        """Vote on an override; return its status (approved at quorum, rejected out of reach)."""

        def work(connection: Connection) -> str:
            self._require(connection, actor, "vote_override")
            row = self._one(connection, "overrides", "override_id", override)
            if row["status"] != "proposed":
                raise RefusedError(f"override {override} is already {row['status']}")
            if actor not in self._voters(connection, row["proposed_by"], row["team_id"]):
                raise RefusedError(
                    f"{actor} may not vote on override {override}: it is their own proposal "
                    "or pays their own team"
                )
            if connection.execute(
                text("SELECT 1 FROM override_votes WHERE override_id = :o AND person_id = :p"),
                {"o": override, "p": actor},
            ).first():
                raise RefusedError(f"{actor} has already voted on override {override}")
            vote = "approve" if approve else "reject"
            connection.execute(
                text("INSERT INTO override_votes VALUES (:o, :p, :v, :t)"),
                {"o": override, "p": actor, "v": vote, "t": _now()},
            )
            votes = connection.execute(
                text("SELECT vote FROM override_votes WHERE override_id = :o"), {"o": override}
            ).scalars()
            tally = list(votes)
            yes, no = tally.count("approve"), tally.count("reject")
            status = "proposed"
            if yes >= row["quorum"]:
                status = "approved"
            elif row["board_size"] - no < row["quorum"]:
                status = "rejected"
            if status != "proposed":
                connection.execute(
                    text(
                        "UPDATE overrides SET status = :s, decided_at = :t WHERE override_id = :o"
                    ),
                    {"s": status, "t": _now(), "o": override},
                )
            payload = {"vote": vote, "approvals": yes, "rejections": no, "status": status}
            append_entry(connection, actor, "override.voted", f"override:{override}", payload)
            return status

        return self._act(actor, "vote_override", f"override:{override}", work)

    # -- views -----------------------------------------------------------------------------------
    def _pseudonym(self, connection: Connection) -> Callable[[object], object]:
        secret = connection.execute(
            text("SELECT value FROM meta WHERE key = 'pseudonym_key'")
        ).scalar()
        if secret is None:
            secret = secrets.token_hex(16)
            connection.execute(text("INSERT INTO meta VALUES ('pseudonym_key', :v)"), {"v": secret})

        def pseudonym(value: object) -> object:
            if value is None or (isinstance(value, float) and math.isnan(value)):
                return value
            digest = hashlib.sha256(f"{secret}:{value}".encode()).hexdigest()[:10]
            return f"person-{digest}"

        return pseudonym

    @staticmethod
    def _columns(connection: Connection, what: str) -> list[str]:
        columns = [c["name"] for c in inspect(connection).get_columns(what)]
        return [*columns, "team_id", "vendor_id"] if what == "contests" else columns

    def _scope(self, connection: Connection, person: dict, what: str) -> str | None:
        """Return which rows of a view a person may see: ``all``, ``team``, ``vendor`` or None."""
        columns = self._columns(connection, what)
        if self._roles_with(connection, person, "view_all"):
            return "all"
        if self._roles_with(connection, person, "view_team") and "team_id" in columns:
            return "team"
        if self._roles_with(connection, person, "view_vendor") and "vendor_id" in columns:
            return "vendor"
        return None

    def may_view(self, actor: str, what: str) -> bool:
        """Return whether a person may see a view at all (asking is not logged)."""
        with self.engine.connect() as connection:
            try:
                person = self._person(connection, actor)
            except RefusedError:
                return False
            return what in VIEWS and self._scope(connection, person, what) is not None

    def view(self, actor: str, what: str) -> pd.DataFrame:
        """Return a table as the actor may see it: all, their team's or their vendor's rows.

        People's ids are pseudonymised (stable within the database) for anyone without
        ``view_identities``. A refused view is logged like any refused action.

        Parameters
        ----------
        actor : str
            Who looks.
        what : str
            One of :data:`VIEWS`.

        Returns
        -------
        DataFrame
            The rows in scope.
        """

        def work(connection: Connection) -> pd.DataFrame:
            if what not in VIEWS:
                raise RefusedError(f"unknown view {what!r} (views: {list(VIEWS)})")
            person = self._person(connection, actor)
            scope = self._scope(connection, person, what)
            if scope is None:
                raise RefusedError(f"{actor} may not view {what}")
            columns = self._columns(connection, what)
            query = f"SELECT * FROM {what}"
            if what == "contests":  # a contest is scoped by its statement's team and vendor
                query = (
                    "SELECT c.*, s.team_id, s.vendor_id FROM contests c "
                    "JOIN statements s ON s.statement_id = c.statement_id"
                )
            table = pd.DataFrame(connection.execute(text(query)).mappings().all(), columns=columns)
            if scope == "all":
                scoped = table
            elif scope == "team" and what == "disputes":
                mine = [person["team_id"] in json.loads(p) for p in table["parties"]]
                scoped = table[pd.Series(mine, index=table.index, dtype=bool)]
            elif scope == "team":
                scoped = table[table["team_id"] == person["team_id"]]
            else:
                scoped = table[table["vendor_id"] == person["vendor_id"]]
            scoped = scoped.reset_index(drop=True)
            if not self._roles_with(connection, person, "view_identities"):
                pseudonym = self._pseudonym(connection)
                for column in set(PERSON_COLUMNS) & set(scoped.columns):
                    scoped[column] = scoped[column].map(pseudonym)
                if what == "people":
                    scoped = scoped.drop(columns=["name"])
            return scoped

        return self._act(actor, "view", f"view:{what}", work)

    # -- disputes --------------------------------------------------------------------------------
    def file_dispute(
        self,
        actor: str,
        team: str,
        period: str,
        at_stake: float,
        rule: str,
        services: Mapping[str, Sequence[str]],
        grounds: str,
        vendor: str | None = None,
    ) -> int:
        """File a dispute over whose result a shared outcome is, or over a vendor's share.

        The parties follow the plan's attribution rule: under ``owner`` the owners of the
        services involved (the first team listed for each) settle it, under a sharing rule every
        team that handles them; a vendor dispute has the team and the vendor as parties.

        Parameters
        ----------
        actor : str
            A team lead of a party team, or the vendor's representative (``dispute``).
        team, period : str
            The award disputed.
        at_stake : float
            The money at stake (e.g. the largest minus the smallest award under the rules).
        rule : str
            The plan's attribution rule (:data:`RULES`).
        services : mapping
            Service id → the teams that handle it, its owner first.
        grounds : str
            What the dispute is about.
        vendor : str, optional
            The vendor disputed with (a vendor dispute).

        Returns
        -------
        int
            The dispute's id.
        """

        def work(connection: Connection) -> int:
            person = self._require(connection, actor, "dispute")
            if rule not in RULES:
                raise RefusedError(f"rule must be one of {list(RULES)}, not {rule!r}")
            if not services or not all(services.values()):
                raise RefusedError("a dispute names its services and the teams handling each")
            if not isinstance(at_stake, int | float) or not math.isfinite(at_stake) or at_stake < 0:
                raise RefusedError(f"at_stake must be a finite sum >= 0, not {at_stake!r}")
            if not grounds.strip():
                raise RefusedError("a dispute needs its grounds")
            if vendor is None:
                chosen = (
                    [teams[0] for teams in services.values()]
                    if rule == "owner"
                    else [t for teams in services.values() for t in teams]
                )
                parties = sorted({team, *chosen})
                if person["team_id"] not in parties:
                    raise RefusedError(f"{actor} may dispute only for a team among {parties}")
            else:
                parties = sorted({team, f"vendor:{vendor}"})
                if person["team_id"] != team and person["vendor_id"] != vendor:
                    raise RefusedError(f"{actor} is neither {team}'s lead nor {vendor}'s")
            if len(parties) < 2:
                raise RefusedError(f"under the {rule} rule {team} disputes with nobody")
            number = self._next_id(connection, "disputes", "dispute_id")
            row = {
                "dispute_id": number,
                "kind": "vendor" if vendor else "attribution",
                "team_id": team,
                "period": period,
                "services": json.dumps({k: list(v) for k, v in services.items()}),
                "vendor_id": vendor,
                "rule": rule,
                "at_stake": float(at_stake),
                "parties": json.dumps(parties),
                "filed_by": actor,
                "filed_at": _now(),
                "grounds": grounds,
                "status": "open",
                "outcome": None,
                "decided_by": None,
                "decision": None,
                "decided_at": None,
            }
            connection.execute(
                text(f"INSERT INTO disputes VALUES ({', '.join(':' + k for k in row)})"), row
            )
            payload = {**row, "services": json.loads(row["services"]), "parties": parties}
            append_entry(connection, actor, "dispute.filed", f"dispute:{number}", payload)
            return number

        return self._act(actor, "dispute", f"dispute:{team}:{period}", work)

    @staticmethod
    def _party(person: dict, parties: Sequence[str]) -> str | None:
        if person["team_id"] in parties and "team_lead" in person["roles"]:
            return person["team_id"]
        vendor = f"vendor:{person['vendor_id']}"
        return vendor if person["vendor_id"] and vendor in parties else None

    def take_position(self, actor: str, dispute: int, agree: bool, outcome: str = "") -> str:
        """Record a party's position on settling a dispute; return its status after.

        Every party's lead agreeing (to the same outcome) settles it; any party disagreeing
        escalates it: attribution disputes to the review board, vendor disputes to a joint
        review of HR and the vendor's representative.
        """

        def work(connection: Connection) -> str:
            person = self._person(connection, actor)
            row = self._one(connection, "disputes", "dispute_id", dispute)
            if row["status"] != "open":
                raise RefusedError(f"dispute {dispute} is already {row['status']}")
            parties = json.loads(row["parties"])
            party = self._party(person, parties)
            if party is None:
                raise RefusedError(f"{actor} speaks for no party of dispute {dispute} ({parties})")
            taken = connection.execute(
                text(
                    "SELECT party, position, outcome FROM dispute_positions WHERE dispute_id = :d"
                ),
                {"d": dispute},
            ).all()
            if party in {p for p, _, _ in taken}:
                raise RefusedError(f"{party} has already taken its position on dispute {dispute}")
            if agree and not outcome.strip():
                raise RefusedError("agreeing means agreeing to an outcome: say which")
            position = "agree" if agree else "disagree"
            connection.execute(
                text("INSERT INTO dispute_positions VALUES (:d, :p, :party, :pos, :o, :t)"),
                {"d": dispute, "p": actor, "party": party, "pos": position, "o": outcome or None}
                | {"t": _now()},
            )
            positions = [*taken, (party, position, outcome or None)]
            outcomes = {o for _, pos, o in positions if pos == "agree"}
            status = "open"
            if not agree or len(outcomes) > 1:
                status = "escalated"
            elif len(positions) == len(parties):
                status = "settled"
            if status != "open":
                decided = {"s": status, "o": outcome if status == "settled" else None}
                connection.execute(
                    text(
                        "UPDATE disputes SET status = :s, outcome = :o, decided_at = :t "
                        "WHERE dispute_id = :d"
                    ),
                    decided | {"t": _now() if status == "settled" else None, "d": dispute},
                )
            payload = {"party": party, "position": position, "outcome": outcome, "status": status}
            append_entry(connection, actor, "dispute.position", f"dispute:{dispute}", payload)
            return status

        return self._act(actor, "take_position", f"dispute:{dispute}", work)

    def decide_dispute(self, actor: str, dispute: int, outcome: str, reason: str) -> str:
        """Decide an escalated dispute; return its status after.

        An attribution dispute is decided by one review-board member outside the parties'
        teams. A vendor dispute needs a joint review: an HR member and the vendor's
        representative must both sign the same outcome (the first signature waits for the
        second).
        """

        def work(connection: Connection) -> str:
            person = self._require(connection, actor, "decide_dispute")
            row = self._one(connection, "disputes", "dispute_id", dispute)
            if row["status"] not in ("escalated", "joint_review"):
                raise RefusedError(f"dispute {dispute} is {row['status']}, not escalated")
            if not outcome.strip() or not reason.strip():
                raise RefusedError("a decision needs its outcome and its reason")
            parties = json.loads(row["parties"])
            if row["kind"] == "attribution":
                if "review_board" not in person["roles"] or person["team_id"] in parties:
                    raise RefusedError(
                        f"{actor} may not decide dispute {dispute}: a review-board member "
                        "outside the parties' teams decides attribution disputes"
                    )
                status, by = "decided", actor
            else:
                side = "vendor" if person["vendor_id"] == row["vendor_id"] else None
                if side is None and "hr" in person["roles"] and person["team_id"] is None:
                    side = "hr"
                if side is None:
                    raise RefusedError(
                        f"{actor} may not decide dispute {dispute}: HR and {row['vendor_id']}'s "
                        "representative review vendor disputes jointly"
                    )
                if row["status"] == "escalated":
                    first = {"o": outcome, "b": f"{side}:{actor}", "r": reason, "d": dispute}
                    connection.execute(
                        text(
                            "UPDATE disputes SET status = 'joint_review', outcome = :o, "
                            "decided_by = :b, decision = :r WHERE dispute_id = :d"
                        ),
                        first,
                    )
                    payload = {"side": side, "outcome": outcome, "reason": reason}
                    append_entry(connection, actor, "dispute.signed", f"dispute:{dispute}", payload)
                    return "joint_review"
                signed_side = row["decided_by"].split(":")[0]
                if signed_side == side:
                    raise RefusedError(f"the {side} side has signed; the other side must")
                if outcome != row["outcome"]:
                    raise RefusedError(
                        f"the joint review must agree: {row['decided_by']} signed "
                        f"{row['outcome']!r}, not {outcome!r}"
                    )
                status, by = "decided", f"{row['decided_by']}+{side}:{actor}"
            connection.execute(
                text(
                    "UPDATE disputes SET status = :s, outcome = :o, decided_by = :b, "
                    "decision = :r, decided_at = :t WHERE dispute_id = :d"
                ),
                {"s": status, "o": outcome, "b": by, "r": reason, "t": _now(), "d": dispute},
            )
            payload = {"outcome": outcome, "reason": reason, "decided_by": by}
            append_entry(connection, actor, "dispute.decided", f"dispute:{dispute}", payload)
            return status

        return self._act(actor, "decide_dispute", f"dispute:{dispute}", work)
