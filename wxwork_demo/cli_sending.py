"""`flask` commands for what an online account does beyond logging in: send, rooms, friends.

Run them as `wxwork send text …`, `wxwork rooms list`, `wxwork friends accept …` (or `flask --app wsgi …`).
They call the same services as the views (cli.py says how the commands are organised); `--json` prints the
API's answer for scripts.
"""

from __future__ import annotations

import json

import click

from wxwork_demo.cli import JSON_OPTION, CommandGroup, _call
from wxwork_demo.terminal_table import clip, render_table

send_cli = CommandGroup("send", help="Send a text, an image or a file through the active account (or --uuid).")
rooms_cli = CommandGroup("rooms", help="The rooms (groups) an account is in, and their members.")
friends_cli = CommandGroup("friends", help="Friend requests to an account, and accepting them.")
UUID_OPTION = click.option("--uuid", default="", help="The instance (default: the active one).")


def _echo(reply, as_json: bool, lines: str) -> None:
    click.echo(json.dumps(reply.to_json(), ensure_ascii=False) if as_json else lines)


# --- rooms ------------------------------------------------------------------------------------------


@rooms_cli.command("list")
@UUID_OPTION
@click.option("--refresh", is_flag=True, help="Read every page from the upstream now, not the cached list.")
@JSON_OPTION
def rooms_list(uuid: str, refresh: bool, as_json: bool) -> None:
    """Every room of the account, with its member count."""
    from wxwork_demo.services.rooms.listing import list_rooms

    reply = _call(lambda: list_rooms(uuid, refresh=refresh))
    rows = [[room.room_id, clip(room.name or "(未命名)", 30), str(room.total), room.owner] for room in reply.rooms]
    origin = "cached" if reply.cached else "read now"
    table = render_table(["ROOM ID", "NAME", "MEMBERS", "OWNER"], rows) if rows else "no rooms"
    _echo(reply, as_json, f"{table}\n\n{reply.count} rooms ({origin}, {reply.fetched_at})")


@rooms_cli.command("members")
@click.argument("room_id")
@UUID_OPTION
@JSON_OPTION
def rooms_members(room_id: str, uuid: str, as_json: bool) -> None:
    """The members of ROOM_ID."""
    from wxwork_demo.services.rooms.listing import room_members

    reply = _call(lambda: room_members(uuid, room_id))
    rows = [
        [member.user_id, clip(member.name or "-", 20), clip(member.room_name or "-", 16), member.join_time[:10] or "-"]
        for member in reply.members
    ]
    title = f"{reply.room.name or '(未命名)'} · {reply.room.room_id} · {len(rows)} members"
    _echo(reply, as_json, f"{title}\n{render_table(['USER ID', 'NAME', 'NAME IN ROOM', 'JOINED'], rows)}")


# --- friends ----------------------------------------------------------------------------------------


@friends_cli.command("list")
@UUID_OPTION
@JSON_OPTION
def friends_list(uuid: str, as_json: bool) -> None:
    """Friend requests to the account, waiting ones first."""
    from wxwork_demo.services.friends.requests import list_requests

    reply = _call(lambda: list_requests(uuid))
    rows = [
        [r.user_id, clip(r.name or "-", 20), r.status, r.applied_at.replace("T", " ")[:16] or "-"]
        for r in reply.requests
    ]
    table = render_table(["USER ID", "NAME", "STATUS", "APPLIED (UTC)"], rows) if rows else "no friend requests"
    _echo(reply, as_json, table)


@friends_cli.command("accept")
@click.argument("vid")
@UUID_OPTION
@JSON_OPTION
def friends_accept(vid: str, uuid: str, as_json: bool) -> None:
    """Accept the friend request of VID (the applicant's user id)."""
    from wxwork_demo.services.friends.requests import accept

    if not (vid.isascii() and vid.isdigit()):
        raise click.BadParameter("must be a numeric user id", param_hint="VID")
    reply = _call(lambda: accept(uuid, int(vid)))
    _echo(reply, as_json, f"accepted {reply.friend.user_id} {reply.friend.name}".rstrip())


GROUPS = (send_cli, rooms_cli, friends_cli)
