"""Sentence vectors with no server: WordLlama's static token embeddings, read from the package.

The ``wordllama`` wheel ships the ``l2_supercat`` weights (256 dimensions) and its tokenizer. Both
files are read here straight from the installed package, so nothing is ever downloaded: the
library's own loader looks for the tokenizer under ``tokenizer/`` while the wheel keeps it under
``tokenizers/``, and would then try to fetch it from the network. A sentence vector is the mean
of its tokens' vectors (as the model was trained), scaled to unit length.

An embedding model on an OpenAI-compatible server can replace it: the vectorizer
``openai:ENDPOINT:MODEL`` (see ``openai_embedder``) embeds through that endpoint's
``/v1/embeddings``, in batches.

The model's vocabulary hardly knows some scripts (Korean, Chinese): their text falls apart into
single characters and raw bytes whose vectors say little. ``coverage`` tells, per text, the share
of its characters read as pieces of two characters or more, so that such texts can be
vectorized another way.
"""

from __future__ import annotations

import functools
import importlib.util
import itertools
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np

WORDLLAMA = "wordllama"
WEIGHTS_FILE = "weights/l2_supercat_256.safetensors"
TOKENIZER_FILE = "tokenizers/l2_supercat_tokenizer_config.json"
TENSOR = "embedding.weight"
OPENAI_PREFIX = "openai:"  # openai:ENDPOINT:MODEL
OPENAI_BATCH = 128  # texts per /v1/embeddings request (OpenAI takes up to 2,048)


class EmbeddingUnavailable(RuntimeError):
    """The embedded model's files are not installed."""


def package_dir(name: str = WORDLLAMA) -> Path:
    """Where a package is installed, found without importing it (importing wordllama sets up
    logging for the whole process)."""
    spec = importlib.util.find_spec(name)
    if spec is None or not spec.submodule_search_locations:
        raise EmbeddingUnavailable(
            f"The embedded embedding model is not installed: run `pip install {name}` "
            "(it is in requirements.txt), or pick TF-IDF.")
    return Path(next(iter(spec.submodule_search_locations)))


@dataclass(frozen=True)
class StaticEmbedder:
    """Token vectors and the tokenizer that indexes them."""

    vectors: np.ndarray  # vocabulary x dimensions, float32
    tokenizer: object  # tokenizers.Tokenizer
    chars: np.ndarray  # characters each token stands for (a raw byte: a third of one)
    known: np.ndarray  # the same, but 0 for pieces of one character and raw bytes

    @property
    def dimensions(self) -> int:
        """Length of every sentence vector."""
        return int(self.vectors.shape[1])

    def embed(self, texts: list[str]) -> np.ndarray:
        """Unit-length sentence vectors (n x dimensions, float32); an empty text gets zeros."""
        return self.embed_with_coverage(texts)[0]

    def embed_with_coverage(self, texts: list[str]) -> tuple[np.ndarray, np.ndarray]:
        """Sentence vectors, and per text the share of its characters the model reads as words.

        The tokenizer's pieces never cross a space, so each distinct word is tokenized once and
        a text's vector is the sum of its words' token vectors (then scaled to unit length).
        """
        from scipy import sparse

        index: dict[str, int] = {}
        indptr: list[int] = [0]
        indices: list[int] = []
        for text in texts:
            indices.extend(index.setdefault(word, len(index)) for word in (text or "").split())
            indptr.append(len(indices))
        n = len(texts)
        if not index:
            return np.zeros((n, self.dimensions), dtype=np.float32), np.zeros(n, dtype=np.float32)
        encoded = self.tokenizer.encode_batch(list(index), add_special_tokens=False)  # type: ignore[attr-defined]
        token_ptr = np.zeros(len(encoded) + 1, dtype=np.int64)
        token_ptr[1:] = np.cumsum([len(e.ids) for e in encoded])
        tokens = np.fromiter(itertools.chain.from_iterable(e.ids for e in encoded), dtype=np.int64,
                             count=int(token_ptr[-1]))
        np.clip(tokens, 0, len(self.vectors) - 1, out=tokens)
        words = sparse.csr_matrix((np.ones(len(tokens), dtype=np.float32), tokens, token_ptr),
                                  shape=(len(encoded), len(self.vectors)))
        per_text = sparse.csr_matrix(
            (np.ones(len(indices), dtype=np.float32), np.asarray(indices, dtype=np.int64), indptr),
            shape=(n, len(encoded)),
        ) @ words  # texts x vocabulary: how often each token occurs
        sums = np.asarray(per_text @ self.vectors, dtype=np.float32)
        norms = np.linalg.norm(sums, axis=1, keepdims=True)
        read = per_text @ self.chars
        coverage = (per_text @ self.known) / np.where(read == 0, 1, read)
        return sums / np.where(norms == 0, 1, norms), coverage.astype(np.float32)


@functools.cache
def wordllama() -> StaticEmbedder:
    """The embedded model, loaded once from the installed package (never from the network)."""
    from safetensors.numpy import load_file
    from tokenizers import Tokenizer

    root = package_dir()
    weights, tokenizer = root / WEIGHTS_FILE, root / TOKENIZER_FILE
    missing = [str(p) for p in (weights, tokenizer) if not p.is_file()]
    if missing:
        raise EmbeddingUnavailable(
            f"The embedded embedding model is incomplete ({', '.join(missing)} missing): "
            f"reinstall {WORDLLAMA}, or pick TF-IDF.")
    vectors = np.ascontiguousarray(load_file(str(weights))[TENSOR], dtype=np.float32)
    tok = Tokenizer.from_file(str(tokenizer))
    tok.no_padding()
    tok.no_truncation()
    chars = np.ones(len(vectors), dtype=np.float32)
    for piece, index in tok.get_vocab().items():
        if index < len(vectors):
            is_byte = piece.startswith("<0x") and piece.endswith(">") and len(piece) == 6
            chars[index] = 1 / 3 if is_byte else max(1, len(piece.replace("\u2581", "")))
    known = np.where(chars >= 2, chars, 0).astype(np.float32)
    return StaticEmbedder(vectors, tok, chars, known)


def embed_texts(texts: list[str]) -> np.ndarray:
    """Unit-length vectors of texts from the embedded model."""
    return wordllama().embed(list(texts))


# -- embedding models on OpenAI-compatible servers ------------------------------


def openai_vectorizer(endpoint: str, model: str) -> str:
    """The vectorizer naming ``model`` on the endpoint named ``endpoint``."""
    return f"{OPENAI_PREFIX}{endpoint}:{model}"


def split_openai_vectorizer(vectorizer: str) -> tuple[str, str]:
    """The endpoint name and model of ``openai:ENDPOINT:MODEL`` (endpoint names hold no colon,
    model names may); ValueError with a sentence when either is missing."""
    endpoint, _, model = vectorizer[len(OPENAI_PREFIX):].partition(":")
    if not vectorizer.startswith(OPENAI_PREFIX) or not endpoint or not model.strip():
        raise ValueError(f"vectorizer {vectorizer!r} does not name an endpoint and a model: write "
                         "openai:ENDPOINT:MODEL, for example openai:default:bge-m3")
    return endpoint, model


def openai_embedder(
    vectorizer: str,
    *,
    batch: int = OPENAI_BATCH,
    timeout: float | None = None,
    endpoints: Mapping[str, object] | None = None,
    progress: Callable[[str, float], object] | None = None,
) -> Callable[[list[str]], np.ndarray]:
    """A function embedding texts with the embedding model ``openai:ENDPOINT:MODEL`` names, in
    batches of ``batch`` texts; an endpoint that is not configured, or any failure of the
    server, raises BackendError with one sentence."""
    from dashboard.llm import BackendError
    from dashboard.openai_backend import OpenAIBackend, openai_endpoints

    name, model = split_openai_vectorizer(vectorizer)
    endpoint = (openai_endpoints() if endpoints is None else endpoints).get(name)
    if endpoint is None:
        raise BackendError(
            f"No OpenAI-compatible endpoint named '{name}' is configured: add [loupe.openai.{name}] "
            "to .streamlit/secrets.toml, or pick another vectorizer.")
    backend = OpenAIBackend(endpoint, timeout=timeout)  # type: ignore[arg-type]

    def embed(texts: list[str]) -> np.ndarray:
        out: np.ndarray | None = None
        for start in range(0, len(texts), batch):
            chunk = [t or " " for t in texts[start:start + batch]]  # servers refuse empty input
            vectors = np.asarray(backend.embed(model, chunk), dtype=np.float32)
            if out is None:
                out = np.empty((len(texts), vectors.shape[1]), dtype=np.float32)
            elif vectors.shape[1] != out.shape[1]:
                raise BackendError(
                    f"The OpenAI-compatible endpoint '{name}' sent vectors of {vectors.shape[1]} and "
                    f"{out.shape[1]} dimensions from '{model}': check that one model serves that name.")
            out[start:start + len(chunk)] = vectors
            if progress:
                done = min(start + batch, len(texts))
                progress(f"Embedding with {model}: {done:,} of {len(texts):,}",
                         0.25 * done / max(1, len(texts)))
        return out if out is not None else np.zeros((0, 1), dtype=np.float32)

    return embed
