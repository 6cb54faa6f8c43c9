"""What Discord refuses in a message the bot sends or edits, as the fake enforces it.

- Content over 2,000 characters: 400, code 50035 "Invalid Form Body", Discord's nested error
  shape (`errors.content._errors[]`, BASE_TYPE_MAX_LENGTH).
- A message that would ping someone. Discord parses `<@id>` / `<@!id>` (a user), `<@&id>` (a
  role) and `@everyone` / `@here` in the content, and a reply (`message_reference`) pings the
  replied-to author; `allowed_mentions` decides which of those notify: absent, everything does;
  present, only the types in `parse`, the ids in `users` / `roles`, and the replied-to author if
  `replied_user` is true. Discord itself would send the ping; the fake refuses it (400, 50035 on
  `allowed_mentions`) so that a test sees the bot forgot to suppress it.
"""
from __future__ import annotations

import re

MESSAGE_LIMIT = 2000
USER = re.compile(r"<@!?(\d+)>")
ROLE = re.compile(r"<@&(\d+)>")
EVERYONE = re.compile(r"@(everyone|here)")


def invalid_form(field: str, code: str, message: str) -> dict:
    return {"message": "Invalid Form Body", "code": 50035,
            "errors": {field: {"_errors": [{"code": code, "message": message}]}}}


def pings(fields: dict) -> list[str]:
    """Who this message would notify: "user 123", "role 45", "@everyone", "replied user"."""
    content = fields.get("content") or ""
    allowed = fields.get("allowed_mentions")
    if allowed is None:  # Discord's default: every mention in the content notifies
        allowed = {"parse": ["users", "roles", "everyone"], "replied_user": True}
    parse = allowed.get("parse") or []
    users, roles = set(allowed.get("users") or []), set(allowed.get("roles") or [])
    found = [f"user {i}" for i in USER.findall(content) if "users" in parse or i in users]
    found += [f"role {i}" for i in ROLE.findall(content) if "roles" in parse or i in roles]
    if "everyone" in parse:
        found += [f"@{who}" for who in EVERYONE.findall(content)]
    if fields.get("message_reference") and allowed.get("replied_user"):
        found.append("replied user")
    return found


def refusal(fields: dict) -> dict | None:
    """Discord's error body for a message it refuses (or the fake refuses), else None."""
    content = fields.get("content")
    if isinstance(content, str) and len(content) > MESSAGE_LIMIT:
        return invalid_form("content", "BASE_TYPE_MAX_LENGTH",
                            f"Must be {MESSAGE_LIMIT} or fewer in length.")
    if "content" in fields and (who := pings(fields)):
        return invalid_form("allowed_mentions", "FAKE_DISCORD_WOULD_PING",
                            f"fake discord: this message would ping {', '.join(who)}")
    return None
