"""The fake Bot API's media methods: sendPhoto, read as Telegram reads PTB's upload (a file
field of a multipart/form-data POST, or the file_id of a photo sent before), and refused where
Telegram refuses it: no image in it, over 10 MB, sides over 10,000 pixels together or one over
20 times the other, a caption over 1,024 characters. A request over 50 MB gets HTTP 413, as
from Telegram, before any method runs (`UPLOAD_BYTES`, the fake's client_max_size).

sendDocument likewise: an uploaded file (kept with its name and type) or none, empty or over
50 MB refused, a caption over 1,024 characters refused."""

from __future__ import annotations

import io
from dataclasses import dataclass
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


@dataclass(frozen=True)
class SentDocument:
    """A file the bot sent, as uploaded."""

    message_id: int
    file_name: str
    mime_type: str
    data: bytes
    caption: str


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
        message, body = self._captioned(chat_id, params)
        self.photos[(chat_id, message.message_id)] = data
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

    async def _api_sendDocument(self, params: dict[str, Any]) -> dict[str, Any]:
        chat_id = int(params["chat_id"])
        upload = params.get("document")
        if not isinstance(upload, web.FileField):
            raise TelegramBadRequest("Bad Request: there is no document in the request")
        data = upload.file.read()
        if not data:
            raise TelegramBadRequest("Bad Request: file must be non-empty")
        if len(data) > UPLOAD_BYTES:
            raise TelegramBadRequest("Bad Request: file is too big")
        message, body = self._captioned(chat_id, params)
        document = SentDocument(message.message_id, upload.filename,
                                upload.content_type or "application/octet-stream", data,
                                message.text)
        self.documents.setdefault(chat_id, []).append(document)
        body["document"] = {"file_id": f"doc{chat_id}x{message.message_id}",
                            "file_unique_id": f"d{chat_id}x{message.message_id}",
                            "file_name": document.file_name, "mime_type": document.mime_type,
                            "file_size": len(data)}
        return body

    def _captioned(self, chat_id: int, params: dict[str, Any]
                   ) -> tuple[StoredMessage, dict[str, Any]]:
        """A media message kept in the chat, its caption checked, and its JSON without text."""
        caption = params.get("caption") or ""
        if len(visible_text(caption, params.get("parse_mode"))) > CAPTION_LENGTH:
            raise TelegramBadRequest("Bad Request: message caption is too long")
        message = StoredMessage(next(self._message_ids), chat_id, caption,
                                validate_markup(params.get("reply_markup")), True,
                                params.get("parse_mode"))
        self.messages.setdefault(chat_id, {})[message.message_id] = message
        body = self._message_json(message)
        del body["text"]
        if caption:
            body["caption"] = caption
        return message, body

    @property
    def documents(self) -> dict[int, list[SentDocument]]:
        """The documents the bot sent, by chat, oldest first (made on first use)."""
        return self.__dict__.setdefault("_documents", {})  # type: ignore[no-any-return]

    def photos_sent(self, chat_id: int) -> list[bytes]:
        """The photos the bot sent to this chat, oldest first, as they were uploaded."""
        return [data for (chat, _message_id), data in sorted(self.photos.items())
                if chat == chat_id]


def photo_id(chat_id: int, message_id: int) -> str:
    return f"photo{chat_id}x{message_id}"
