"""`flask` commands for what an online account does beyond logging in: send, rooms, friends.

Run them as `wxwork send text …`, `wxwork rooms list`, `wxwork friends accept …` (or `flask --app wsgi …`).
They call the same services as the views (cli.py says how the commands are organised); `--json` prints the
API's answer for scripts.
"""

from __future__ import annotations

import json
import mimetypes
from pathlib import Path

import click

from wxwork_demo.cli import JSON_OPTION, CommandGroup, _call
from wxwork_demo.contract.base import Part
from wxwork_demo.contract.business import SendText
from wxwork_demo.terminal_table import clip, render_table
from wxwork_demo.upstream import Upload

send_cli = CommandGroup("send", help="Send a text, an image or a file through the active account (or --uuid).")
rooms_cli = CommandGroup("rooms", help="The rooms (groups) an account is in, and their members.")
friends_cli = CommandGroup("friends", help="Friend requests to an account, and accepting them.")
UUID_OPTION = click.option("--uuid", default="", help="The instance (default: the active one).")


def _echo(reply: Part, as_json: bool, lines: str) -> None:
    click.echo(json.dumps(reply.to_json(), ensure_ascii=False) if as_json else lines)


# --- send -------------------------------------------------------------------------------------------

TO_ARGUMENT = click.argument("to")
ROOM_OPTION = click.option("--room", "is_room", is_flag=True, help="TO is a room id (a group), not a person.")


def _target(to: str) -> int:
    if not (to.isascii() and to.isdigit() and len(to) <= 20):
        raise click.BadParameter("must be a numeric user or room id", param_hint="TO")
    return int(to)


def _sent_line(reply: SendText) -> str:
    waited = f", waited {reply.waited_ms} ms for its turn" if reply.waited_ms else ""
    return f"sent: msgId {reply.msg_id or '-'} serverId {reply.server_id or '-'}{waited}"


@send_cli.command("text")
@TO_ARGUMENT
@click.argument("content")
@ROOM_OPTION
@click.option("--at", "at", multiple=True, help="A member to @mention (rooms only; repeat for more).")
@click.option("--at-all", is_flag=True, help="@all in the room.")
@UUID_OPTION
@JSON_OPTION
def send_text(
    to: str, content: str, is_room: bool, at: tuple[str, ...], at_all: bool, uuid: str, as_json: bool
) -> None:
    """Send CONTENT to TO (a user id, or a room id with --room)."""
    from wxwork_demo.services.business.messaging import send_text as send

    at_ids = [_target(member) for member in at]
    reply = _call(lambda: send(uuid, _target(to), is_room, content, at=at_ids, at_all=at_all))
    _echo(reply, as_json, _sent_line(reply))


def _source(source: str) -> tuple[str, Upload | None]:
    """(url, None) for an http(s) link, else ("", the file at that path as an Upload)."""
    if source.startswith(("http://", "https://")):
        return source, None
    path = Path(source)
    if not path.is_file():
        raise click.BadParameter("must be an http(s) URL or a readable file", param_hint="SOURCE")
    guessed = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
    return "", Upload(filename=path.name, content=path.read_bytes(), content_type=guessed)


@send_cli.command("image")
@TO_ARGUMENT
@click.argument("source")
@ROOM_OPTION
@UUID_OPTION
@JSON_OPTION
def send_image(to: str, source: str, is_room: bool, uuid: str, as_json: bool) -> None:
    """Send the image at SOURCE (an http(s) URL, or a local file) to TO."""
    from wxwork_demo.services.business import media_sending

    url, upload = _source(source)
    target = media_sending.Target(uuid, _target(to), is_room)
    reply = _call(lambda: media_sending.send_image(target, url, upload))
    _echo(reply, as_json, _sent_line(reply))


@send_cli.command("file")
@TO_ARGUMENT
@click.argument("source")
@ROOM_OPTION
@click.option("--name", "filename", default="", help="The name the recipient sees (default: the file's own).")
@UUID_OPTION
@JSON_OPTION
def send_file(to: str, source: str, is_room: bool, filename: str, uuid: str, as_json: bool) -> None:
    """Send the file at SOURCE (an http(s) URL, or a local file) to TO."""
    from wxwork_demo.services.business import media_sending

    url, upload = _source(source)
    target = media_sending.Target(uuid, _target(to), is_room)
    reply = _call(lambda: media_sending.send_file(target, url, upload, filename))
    _echo(reply, as_json, _sent_line(reply))


@send_cli.command("revoke")
@click.argument("msg_id")
@UUID_OPTION
@JSON_OPTION
def send_revoke(msg_id: str, uuid: str, as_json: bool) -> None:
    """Take back the message MSG_ID this app sent (RevokeMsg)."""
    from wxwork_demo.services.business.sent_log import revoke

    reply = _call(lambda: revoke(uuid, _target(msg_id), 0))
    _echo(reply, as_json, f"revoked {reply.msg_id}")


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
