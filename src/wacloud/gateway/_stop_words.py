"""Opt-out keywords: a customer who writes just "STOP" (or its word in their language) is recorded as
opted out of marketing, as if they had tapped WhatsApp's own "stop promotions".

The words are per language and kept in the gateway database (``wacloud_gw_stop_words``), editable in
the console's operations page; a fresh database starts with a few common ones.
"""

from __future__ import annotations

import time
import unicodedata

from wacloud.gateway._db import Database

#: The words a new gateway starts with (an admin edits them in the console).
DEFAULT_WORDS: dict[str, tuple[str, ...]] = {
    "en": ("STOP", "UNSUBSCRIBE", "STOP ALL"),
    "es": ("ALTO", "BAJA", "CANCELAR SUSCRIPCION"),
    "pt": ("PARAR", "SAIR", "CANCELAR"),
    "fr": ("STOP", "ARRET", "DESABONNER"),
    "de": ("STOPP", "ABMELDEN"),
}
#: How long the words are reused between database reads (every inbound text is checked).
CACHE_S = 5.0


def normalize(text: str) -> str:
    """Upper case, accents and surrounding punctuation removed, inner spaces collapsed: "  Stop! " → "STOP"."""
    plain = "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))
    return " ".join(plain.upper().strip(" \t\r\n.!¡?¿,;:'\"").split())


class StopWords:
    """The per-language opt-out keywords."""

    def __init__(self, db: Database) -> None:
        self.db = db
        probe = (
            "SELECT 1 FROM information_schema.tables WHERE table_schema = current_schema() "
            "AND table_name = 'wacloud_gw_stop_words'"
            if db.is_postgres
            else "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'wacloud_gw_stop_words'"
        )
        fresh = not db.execute(probe)
        db.execute(
            "CREATE TABLE IF NOT EXISTS wacloud_gw_stop_words (language TEXT NOT NULL, word TEXT NOT NULL, "
            "PRIMARY KEY (language, word))"
        )
        if fresh:
            for language, words in DEFAULT_WORDS.items():
                for word in words:
                    self.add(language, word)
        self._cache: tuple[float, dict[str, str]] | None = None

    def add(self, language: str, word: str) -> str:
        """Add ``word`` for ``language``; returns the stored (normalized) word. Raises ValueError when empty."""
        norm, lang = normalize(word), language.strip().lower()
        if not norm or not lang or len(norm) > 60 or len(lang) > 15:
            raise ValueError("give a language code (e.g. en) and a word of at most 60 characters")
        self.db.execute(
            "INSERT INTO wacloud_gw_stop_words (language, word) VALUES (?, ?) ON CONFLICT (language, word) DO NOTHING",
            (lang, norm),
        )
        self._cache = None
        return norm

    def remove(self, language: str, word: str) -> None:
        """Remove ``word`` from ``language``."""
        self.db.execute(
            "DELETE FROM wacloud_gw_stop_words WHERE language = ? AND word = ?", (language.strip().lower(), word)
        )
        self._cache = None

    def all(self) -> list[tuple[str, str]]:
        """(language, word) pairs, by language."""
        rows = self.db.execute("SELECT language, word FROM wacloud_gw_stop_words ORDER BY language, word")
        return [(str(a), str(b)) for a, b in rows]

    def match(self, text: str | None) -> str | None:
        """The language whose keyword ``text`` is (the whole message, not a word inside it), or None.

        A word several languages share is reported with the first language code in alphabetical order."""
        if not text or len(text) > 80:
            return None
        cached = self._cache
        if cached is None or time.monotonic() - cached[0] > CACHE_S:
            table: dict[str, str] = {}
            for lang, w in self.all():
                table.setdefault(w, lang)  # a word of several languages ("STOP"): the first by code
            cached = self._cache = (time.monotonic(), table)
        return cached[1].get(normalize(text))
