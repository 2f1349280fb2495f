"""The wedding socket: members of the wedding hear its typed events."""

from __future__ import annotations

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer

from wedsync.access import is_wedding_member

from .broadcast import wedding_group

CLOSE_UNAUTHENTICATED = 4401
CLOSE_FORBIDDEN = 4403


class WeddingConsumer(AsyncJsonWebsocketConsumer):
    group_name: str | None = None

    async def connect(self) -> None:
        user = self.scope.get("user")
        wedding_id = self.scope["url_route"]["kwargs"]["wedding_id"]
        if user is None or not user.is_authenticated:
            await self.close(code=CLOSE_UNAUTHENTICATED)
            return
        if not await database_sync_to_async(is_wedding_member)(user, wedding_id):
            # Same answer whether the wedding exists or not.
            await self.close(code=CLOSE_FORBIDDEN)
            return
        self.group_name = wedding_group(wedding_id)
        await self.channel_layer.group_add(self.group_name, self.channel_name)
        await self.accept()
        await self.send_json({"type": "subscribed", "wedding": str(wedding_id)})

    async def disconnect(self, code: int) -> None:
        if self.group_name:
            await self.channel_layer.group_discard(self.group_name, self.channel_name)

    async def receive_json(self, content, **kwargs) -> None:
        if isinstance(content, dict) and content.get("type") == "ping":
            await self.send_json({"type": "pong"})
        else:
            await self.send_json(
                {"type": "error", "detail": 'This socket only answers {"type": "ping"}.'}
            )

    async def wedding_event(self, message) -> None:
        await self.send_json(message["event"])

    async def wedding_events(self, message) -> None:
        """Several events sent together (broadcast.send_all): one frame each, in order."""
        for event in message["events"]:
            await self.send_json(event)
