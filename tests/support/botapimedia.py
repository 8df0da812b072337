"""The fake Bot API's media methods: sendPhoto, read as Telegram reads PTB's upload (a file
field of a multipart/form-data POST, or the file_id of a photo sent before), and refused where
Telegram refuses it: no image in it, over 10 MB, sides over 10,000 pixels together or one over
20 times the other, a caption over 1,024 characters. A request over 50 MB gets HTTP 413, as
from Telegram, before any method runs (`UPLOAD_BYTES`, the fake's client_max_size)."""

from __future__ import annotations

import io
from typing import Any

from aiohttp import web
from PIL import Image

from support.botapirecords import StoredMessage
from support.botapirules import TelegramBadRequest, validate_markup, visible_text

UPLOAD_BYTES = 50 * 1024 * 1024
PHOTO_BYTES = 10 * 1024 * 1024
CAPTION_LENGTH = 1024
SIDES_TOGETHER = 10_000  # pixels
LONGEST_RATIO = 20


def image_size(data: bytes) -> tuple[int, int]:
    """Width and height of an image Telegram can read (Pillow decodes it as Telegram does)."""
    try:
        with Image.open(io.BytesIO(data)) as image:
            image.verify()
            return image.size
    except (OSError, SyntaxError, ValueError):  # what Pillow raises for a broken file
        raise TelegramBadRequest("Bad Request: IMAGE_PROCESS_FAILED") from None


class MediaMethods:
    """Mixed into `FakeBotAPI`, whose `messages`, `photos` and message ids these use."""

    async def _api_sendPhoto(self, params: dict[str, Any]) -> dict[str, Any]:
        chat_id = int(params["chat_id"])
        data = self._photo_bytes(params.get("photo"))
        if len(data) > PHOTO_BYTES:
            raise TelegramBadRequest("Bad Request: PHOTO_SAVE_FILE_INVALID")
        width, height = image_size(data)
        if width + height > SIDES_TOGETHER or max(width, height) > LONGEST_RATIO * min(
                width, height):
            raise TelegramBadRequest("Bad Request: PHOTO_INVALID_DIMENSIONS")
        caption = params.get("caption") or ""
        if len(visible_text(caption, params.get("parse_mode"))) > CAPTION_LENGTH:
            raise TelegramBadRequest("Bad Request: message caption is too long")
        message = StoredMessage(next(self._message_ids), chat_id, caption,
                                validate_markup(params.get("reply_markup")), True,
                                params.get("parse_mode"))
        self.messages.setdefault(chat_id, {})[message.message_id] = message
        self.photos[(chat_id, message.message_id)] = data
        body = self._message_json(message)
        del body["text"]
        if caption:
            body["caption"] = caption
        body["photo"] = [{"file_id": photo_id(chat_id, message.message_id),
                          "file_unique_id": f"u{chat_id}x{message.message_id}",
                          "width": width, "height": height, "file_size": len(data)}]
        return body

    def _photo_bytes(self, photo: Any) -> bytes:
        """The uploaded file's bytes, or those of the photo a file_id names."""
        if isinstance(photo, web.FileField):
            return photo.file.read()
        if isinstance(photo, str):
            for (chat_id, message_id), data in self.photos.items():
                if photo == photo_id(chat_id, message_id):
                    return data
            raise TelegramBadRequest("Bad Request: wrong file identifier/HTTP URL specified")
        raise TelegramBadRequest("Bad Request: there is no photo in the request")

    def photos_sent(self, chat_id: int) -> list[bytes]:
        """The photos the bot sent to this chat, oldest first, as they were uploaded."""
        return [data for (chat, _message_id), data in sorted(self.photos.items())
                if chat == chat_id]


def photo_id(chat_id: int, message_id: int) -> str:
    return f"photo{chat_id}x{message_id}"
