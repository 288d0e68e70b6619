"""Failure themes: cluster the questions of low-rated interactions and describe each cluster.

The pipeline, deterministic for a given seed:

1. **Vectorize** each question (optionally followed by its answer). The default is the embedded
   static embedding model (WordLlama, ``dashboard/embedding.py``: no server, no download), which
   puts questions that mean the same thing close together even when they share no word. TF-IDF
   over word 1-2 grams and character 2-4 grams within words stays available (it also handles
   typos and Korean), alone or side by side with the embeddings; an embedding model on Ollama
   (``ollama:MODEL``) or on an OpenAI-compatible endpoint (``openai:ENDPOINT:MODEL``; ``bge-m3``
   is multilingual) can replace both. Rows end up of unit length (cosine geometry);
   TF-IDF is first reduced with TruncatedSVD to at most 100 dimensions.
2. **Smooth**: each item moves towards the mean of its ``NEIGHBOURS`` nearest items, so that the
   few words of a short question weigh less than what its neighbours agree on.
3. **Cluster** with Ward's agglomerative clustering on at most ``FIT_SAMPLE`` items (a random
   sample beyond that); the theme centres are the mean of their items, and every item joins the
   nearest centre (two k-means steps over all items follow on a sample).
4. **Choose k** (unless given): Ward's tree is cut at every k from 2 to ``k_max`` and each cut
   is scored by the silhouette of at most ``SILHOUETTE_SAMPLE`` items in the unsmoothed space; the
   best score wins, and a smaller k wins when its score is within ``K_TOLERANCE`` of the best
   (fewer themes are easier to read). ``k_max`` is sqrt(n), at least 2 and at most
   ``MAX_THEMES``. Themes smaller than ``min_theme_size(n)`` are folded into "other" (id -1).
5. **Describe** each theme: a readable name (the phrase of 1-3 words from its questions that sets
   it apart most, by class-based TF-IDF, with near-duplicates dropped), its most typical items
   (closest to the centre), ratings, the models and variants it hits, and its trend over time.
"""

from __future__ import annotations

import functools
import math
import re
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from itertools import pairwise
from typing import Any

import numpy as np

from store.dates import stored_day

DEFAULT_MAX_ITEMS = 200_000
MAX_THEMES = 150
OTHER_ID = -1
OTHER_LABEL = "other"
TFIDF = "tfidf"
WORDLLAMA = "wordllama"
COMBINED = "wordllama+tfidf"
DEFAULT_VECTORIZER = WORDLLAMA
OLLAMA_PREFIX = "ollama:"
OPENAI_PREFIX = "openai:"  # openai:ENDPOINT:MODEL, see dashboard.embedding.openai_embedder
VECTORIZERS = {
    WORDLLAMA: "Embedded model (WordLlama, no server)",
    COMBINED: "Embedded model + TF-IDF",
    TFIDF: "TF-IDF (words and characters)",
}
COVERAGE_MIN = 0.5  # share of a text's characters the embedded model must read as words
EMBEDDED_WEIGHT = 0.85  # share of the embedded model in the combined vectors (the rest TF-IDF)
EXAMPLES = 5  # most typical items shown per theme
TOP_TERMS = 8
SVD_DIMENSIONS = 100
SVD_SAMPLE = 20_000  # items the SVD directions are fitted on (then every item is projected)
FIT_SAMPLE = 4_000  # items Ward's clustering runs on at most (the others join the nearest theme)
NEIGHBOURS = 10  # nearest items an item is smoothed towards
SILHOUETTE_SAMPLE = 2_000  # items the silhouette is computed on
K_TOLERANCE = 0.02  # a smaller k wins when its silhouette is this close to the best
REFINE_STEPS = 2  # k-means steps over every item after Ward's clustering of a sample
TERMS_SAMPLE = 15_000  # items whose phrases name the themes at most
MAP_POINTS = 5_000  # points drawn on the map at most
QUEUE_LIMIT = 300  # ids sent to the annotation queue at most (the most typical)
QUESTION_SET_LIMIT = 200  # questions put in a question set at most (the most typical)
ANSWER_WEIGHT_CHARS = 1_000  # characters of an answer added to its question's text

Progress = Callable[[str, float], object]  # what it returns is ignored
Embed = Callable[[list[str]], np.ndarray]

# Names that embedding models on Ollama and OpenAI-compatible servers usually carry.
_EMBEDDING_NAME = re.compile(
    r"embed|bge|\be5\b|e5-|gte|minilm|mpnet|nomic|mxbai|arctic|labse|paraphrase|snowflake",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class ThemeOptions:
    """How themes are found: number of themes (None: automatic), seed, text, vectorizer."""

    k: int | None = None
    seed: int = 0
    with_answers: bool = False
    vectorizer: str = DEFAULT_VECTORIZER  # see VECTORIZERS, "ollama:MODEL" or "openai:ENDPOINT:MODEL"


@dataclass
class Clustering:
    """Where each item landed, and how the clustering was chosen."""

    labels: np.ndarray  # theme id per item, OTHER_ID for the folded ones
    typicality: np.ndarray  # cosine similarity to the centre of the item's cluster
    coords: np.ndarray  # n x 2 map position
    terms: dict[int, list[str]]  # theme id -> distinguishing phrases, best first
    k: int  # clusters before folding small ones
    auto: bool  # k was chosen automatically
    k_scores: dict[int, float] = field(default_factory=dict)  # silhouette per tried k
    min_size: int = 0
    timings: dict[str, float] = field(default_factory=dict)


# -- vectorizing --------------------------------------------------------------


def item_text(question: str | None, answer: str | None = None, with_answers: bool = False) -> str:
    """The text clustered for one item: its question, and the start of its answer if asked."""
    text = question or ""
    if with_answers and answer:
        text = f"{text}\n{answer[:ANSWER_WEIGHT_CHARS]}"
    return text


# Korean words that carry no topic (interrogatives, auxiliaries, polite endings, pronouns),
# the counterpart of the English stop-word list for questions written in Korean.
KOREAN_STOP_WORDS = frozenset("""
    어떻게 어떤 누가 언제 어디서 어디 어디에 무엇 무엇을 뭐 뭔가요 뭐예요 뭐에요 왜 혹시 제 저 저는 제가 내 나 내가
    저희 우리 좀 수 있나요 있을까요 있어요 있습니다 있는 있는지 있으면 없나요 없어요 하나요 해야 해야 하면
    하고 하는 합니다 해요 해주세요 해 주세요 주세요 주실 알려 알려주세요 알려줘요 싶어요 싶습니다 싶은데
    되나요 될까요 됩니다 돼요 되는 인가요 건가요 이 그 저것 이것 그것 더 또 다시 너무 정말 그냥 방법
    방법을 방법은 방법이 궁금합니다 궁금해요 거 것 걸 게 좋을까요 할 한 하려면 하는데 했는데 하죠 바꾸죠
    잠그죠 급해요 도와주세요 도와줘요 부탁드립니다 부탁해요 요청합니다 가요 나요 네 아니요 안녕하세요 감사합니다 고맙습니다
""".split())
# Greetings and courtesy words that people add to any question.
CHAT_STOP_WORDS = frozenset(
    "hi hello hey thanks thank thx pls please dear regards cheers ok okay".split()
)


# Particles that Korean attaches to the end of a noun ("카드를" is "카드" + "를"), longest first.
KOREAN_PARTICLES = tuple(sorted(
    "을 를 이 가 은 는 에 에서 에게 한테 으로 로 의 도 만 과 와 까지 부터 보다 처럼 이나 나 랑 이랑".split(),
    key=len, reverse=True,
))
_HANGUL = re.compile(r"[\uac00-\ud7a3]")
_TOKEN = re.compile(r"(?u)\b\w\w+\b")


def _strip_particle(token: str) -> str:
    if not _HANGUL.search(token):
        return token
    for particle in KOREAN_PARTICLES:
        if token.endswith(particle) and len(token) > len(particle):
            return token[: -len(particle)]
    return token


@functools.cache
def stop_words() -> frozenset[str]:
    """English (scikit-learn's list), Korean and chat stop words."""
    from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

    return frozenset(ENGLISH_STOP_WORDS) | KOREAN_STOP_WORDS | CHAT_STOP_WORDS


def content_tokens(text: str) -> list[str]:
    """The words of ``text`` that can carry a topic: lowercased, stop words left out, and
    Korean nouns without their particle."""
    stop = stop_words()
    words = (_strip_particle(t) for t in _TOKEN.findall(text.lower()) if t not in stop)
    return [w for w in words if w not in stop]


def _word_counts(tokens: Sequence[list[str]]) -> tuple[Any, np.ndarray]:
    """Word 1-2 gram counts of the content tokens, and the vocabulary."""
    from scipy import sparse
    from sklearn.feature_extraction.text import CountVectorizer

    min_df = 2 if len(tokens) >= 20 else 1
    vectorizer = CountVectorizer(
        analyzer=lambda words: words + [f"{a} {b}" for a, b in pairwise(words)],
        min_df=min_df, dtype=np.float32,
    )
    try:
        counts = vectorizer.fit_transform(tokens)
    except ValueError:  # no word survives (only stop words, digits or punctuation)
        return sparse.csr_matrix(np.zeros((len(tokens), 0), dtype=np.float32)), np.array([], dtype=object)
    return counts, vectorizer.get_feature_names_out()


def _char_tfidf(tokens: Sequence[list[str]]) -> Any:
    """TF-IDF of character 2-4 grams inside the content words, hashed (no vocabulary to build)."""
    from sklearn.feature_extraction.text import HashingVectorizer, TfidfTransformer

    hashed = HashingVectorizer(
        analyzer="char_wb", ngram_range=(2, 4), n_features=2**20, alternate_sign=False,
        norm=None, dtype=np.float32, lowercase=False,
    ).transform([" ".join(words) for words in tokens])
    if len(tokens) >= 20:
        hashed = hashed[:, np.flatnonzero(hashed.getnnz(axis=0) >= 2)]  # like min_df=2
    if not hashed.shape[1]:  # no word at all (only punctuation, digits or stop words)
        return hashed
    return TfidfTransformer(sublinear_tf=True).fit_transform(hashed)


def tfidf_vectors(tokens: Sequence[list[str]], counts: Any) -> Any:
    """Word and character TF-IDF side by side, each half of a unit row (sparse)."""
    from scipy import sparse
    from sklearn.feature_extraction.text import TfidfTransformer
    from sklearn.preprocessing import normalize

    parts = [_char_tfidf(tokens)]
    if counts.shape[1]:
        parts.insert(0, TfidfTransformer(sublinear_tf=True).fit_transform(counts))
    weight = math.sqrt(1 / len(parts))
    joined = sparse.hstack([p * weight for p in parts], format="csr")
    return normalize(joined) if joined.shape[1] else joined


def reduce(vectors: Any, seed: int, dimensions: int = SVD_DIMENSIONS) -> np.ndarray:
    """TruncatedSVD to at most ``dimensions``, rows normalized."""
    from sklearn.decomposition import TruncatedSVD
    from sklearn.preprocessing import normalize

    n, features = vectors.shape
    if not hasattr(vectors, "toarray") and features <= dimensions:  # dense and small already
        return normalize(np.asarray(vectors, dtype=np.float32))
    size = min(dimensions, n - 1, features - 1)
    if size < 2:
        dense = vectors.toarray() if hasattr(vectors, "toarray") else np.asarray(vectors)
        return normalize(dense.astype(np.float32))
    svd = TruncatedSVD(n_components=size, algorithm="randomized", n_iter=4, random_state=seed)
    if n <= SVD_SAMPLE:
        with np.errstate(invalid="ignore", divide="ignore"):  # explained variance of all-alike rows
            return normalize(svd.fit_transform(vectors).astype(np.float32))
    # The main directions of a large random sample are those of the whole: fit there.
    sample = np.sort(np.random.default_rng(seed).choice(n, SVD_SAMPLE, replace=False))
    svd.fit(vectors[sample])
    return normalize(svd.transform(vectors).astype(np.float32))


# -- points: vectors of unit length --------------------------------------------


def vectorize(
    texts: Sequence[str], vectorizer: str = DEFAULT_VECTORIZER, *, seed: int = 0, embed: Embed | None = None
) -> np.ndarray:
    """Unit-length vectors of the texts (n x d, float32) by the chosen vectorizer.

    With the embedded model, a text it hardly reads (``COVERAGE_MIN``: mostly Korean or Chinese,
    whose words its vocabulary lacks) gets TF-IDF vectors in dimensions of their own instead.
    """
    from sklearn.preprocessing import normalize

    n = len(texts)
    if not n:
        return np.zeros((0, 2), np.float32)
    if embed is not None:
        return normalize(np.asarray(embed(list(texts)), dtype=np.float32))
    if vectorizer not in VECTORIZERS:
        raise ValueError(f"unknown vectorizer {vectorizer!r}: use one of {', '.join(VECTORIZERS)}, "
                         "ollama:MODEL or openai:ENDPOINT:MODEL")
    if vectorizer == TFIDF:
        return _tfidf_points(texts, seed)
    from dashboard.embedding import wordllama

    embedded, coverage = wordllama().embed_with_coverage(list(texts))
    read = coverage >= COVERAGE_MIN
    weight = np.where(read, EMBEDDED_WEIGHT if vectorizer == COMBINED else 1.0, 0.0).astype(np.float32)
    rows = np.arange(n) if vectorizer == COMBINED else np.flatnonzero(~read)
    if not len(rows):
        return embedded
    part = _tfidf_points([texts[i] for i in rows.tolist()], seed)
    lexical = np.zeros((n, part.shape[1]), np.float32)
    lexical[rows] = part
    joined = np.hstack([embedded * np.sqrt(weight)[:, None], lexical * np.sqrt(1 - weight)[:, None]])
    return normalize(joined).astype(np.float32)


def _tfidf_points(texts: Sequence[str], seed: int) -> np.ndarray:
    tokens = [content_tokens(text) for text in texts]
    counts, _ = _word_counts(tokens)
    vectors = tfidf_vectors(tokens, counts)
    if not vectors.shape[1]:  # not one word to go by: every such text is alike
        return np.zeros((len(texts), 1), dtype=np.float32)
    return reduce(vectors, seed) if len(texts) >= 3 else _small(vectors, len(texts))


def smooth(points: np.ndarray, neighbours: int = NEIGHBOURS, block: int = 1024) -> np.ndarray:
    """Each point moved halfway towards the mean of its nearest points (itself among them)."""
    from sklearn.preprocessing import normalize

    n = len(points)
    if n < 3:
        return points
    k = min(neighbours, n - 1)
    out = np.empty_like(points)
    for start in range(0, n, block):
        rows = points[start:start + block]
        nearest = np.argpartition(-(rows @ points.T), k, axis=1)[:, : k + 1]
        out[start:start + block] = rows + points[nearest].mean(axis=1)
    return normalize(out)


# -- choosing k and clustering ------------------------------------------------


def k_max_for(n: int) -> int:
    """The largest number of themes tried automatically for n items."""
    return max(2, min(MAX_THEMES, n // 5))


def min_theme_size(n: int) -> int:
    """Themes smaller than this are folded into 'other': 0.2 % of the items, at least 3."""
    return max(3, math.ceil(n * 0.002))


def _k_candidates(k_max: int) -> list[int]:
    """Every k up to 40, then steps of about 5 %."""
    ks, k = [], 2
    while k <= k_max:
        ks.append(k)
        k += 1 if k < 40 else max(1, round(k * 0.05))
    if ks and ks[-1] != k_max:
        ks.append(k_max)
    return ks


def ward_tree(points: np.ndarray) -> np.ndarray:
    """Ward's agglomerative tree (scipy linkage) of the smoothed points."""
    from scipy.cluster.hierarchy import linkage

    return linkage(smooth(points).astype(np.float64), method="ward")


def cut(tree: np.ndarray, k: int) -> np.ndarray:
    """Labels 0..k-1 of the tree cut into k clusters."""
    from scipy.cluster.hierarchy import fcluster

    return fcluster(tree, k, criterion="maxclust").astype(np.int64) - 1


def choose_k(
    points: np.ndarray,
    tree: np.ndarray,
    *,
    seed: int = 0,
    k_max: int | None = None,
    n_total: int | None = None,
    progress: Progress | None = None,
) -> tuple[int, dict[int, float]]:
    """The number of clusters with the best silhouette (smaller k on near ties) and every score."""
    from sklearn.metrics import silhouette_score

    n = len(points)
    k_max = min(k_max or k_max_for(n_total or n), n - 1)
    if k_max < 2:
        return 1, {}
    rng = np.random.default_rng(seed)
    scored = np.sort(rng.choice(n, min(n, SILHOUETTE_SAMPLE), replace=False))
    sample = points[scored]
    distances = np.clip(1.0 - sample @ sample.T, 0.0, 2.0)
    np.fill_diagonal(distances, 0.0)
    scores: dict[int, float] = {}
    candidates = _k_candidates(k_max)
    for i, k in enumerate(candidates):
        labels = cut(tree, k)[scored]
        distinct = len(set(labels.tolist()))
        scores[k] = (
            float(silhouette_score(distances, labels, metric="precomputed"))
            if 1 < distinct < len(scored) else -1.0
        )
        if progress:
            progress(f"Trying {k} themes of at most {k_max}", (i + 1) / len(candidates))
    best = max(scores.values())
    chosen = min(k for k, score in scores.items() if score >= best - K_TOLERANCE)
    return chosen, scores


def centres_of(points: np.ndarray, labels: np.ndarray, k: int) -> np.ndarray:
    """The unit-length mean of each cluster's points (zeros for an empty cluster)."""
    from scipy import sparse
    from sklearn.preprocessing import normalize

    membership = sparse.csr_matrix(
        (np.ones(len(labels), dtype=np.float32), (labels, np.arange(len(labels)))),
        shape=(k, len(labels)),
    )
    return normalize(np.asarray(membership @ points, dtype=np.float32))


def nearest(points: np.ndarray, centres: np.ndarray, block: int = 20_000) -> tuple[np.ndarray, np.ndarray]:
    """Each point's nearest centre and its cosine similarity to it."""
    labels = np.empty(len(points), dtype=np.int64)
    similarity = np.empty(len(points), dtype=np.float32)
    for start in range(0, len(points), block):
        sims = points[start:start + block] @ centres.T
        labels[start:start + block] = sims.argmax(axis=1)
        similarity[start:start + block] = sims.max(axis=1)
    return labels, similarity


def fit_sample(n: int, seed: int, size: int = FIT_SAMPLE) -> np.ndarray:
    """The items Ward's clustering runs on: all of them, or a random sample."""
    if n <= size:
        return np.arange(n)
    return np.sort(np.random.default_rng(seed).choice(n, size, replace=False))


def cluster_points(
    points: np.ndarray, k: int, seed: int = 0, tree: np.ndarray | None = None,
    sample: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Labels, each item's cosine similarity to its centre, and the centres."""
    n = len(points)
    if k <= 1 or n < 2:
        centre = centres_of(points, np.zeros(n, dtype=np.int64), 1) if n else np.zeros((1, 1))
        labels = np.zeros(n, dtype=np.int64)
        typicality = points @ centre[0] if n else np.zeros(0)
        return labels, typicality.astype(np.float32), centre
    sample = fit_sample(n, seed) if sample is None else sample
    tree = ward_tree(points[sample]) if tree is None else tree
    fitted = cut(tree, k)
    k = int(fitted.max()) + 1
    centres = centres_of(points[sample], fitted, k)
    if len(sample) == n:
        labels = fitted
    else:
        labels, _ = nearest(points, centres)
        for _ in range(REFINE_STEPS):  # k-means steps over every item
            moved = centres_of(points, labels, k)
            empty = ~moved.any(axis=1)
            moved[empty] = centres[empty]
            centres = moved
            labels, _ = nearest(points, centres)
    centres = centres_of(points, labels, k)
    typicality = np.einsum("ij,ij->i", points, centres[labels])
    return labels, typicality.astype(np.float32), centres


def map_coordinates(points: np.ndarray, labels: np.ndarray, centres: np.ndarray) -> np.ndarray:
    """A 2-D map: theme centres placed by their similarity (classical MDS of the centres), each
    item around its centre along the two main directions in which its theme varies."""
    n = len(points)
    if n == 0:
        return np.zeros((0, 2), dtype=np.float32)
    k = len(centres)
    if k >= 3:
        squared = np.square(np.linalg.norm(centres[:, None, :] - centres[None, :, :], axis=2))
        centring = np.eye(k) - 1.0 / k
        values, vectors = np.linalg.eigh(-0.5 * centring @ squared @ centring)
        top = np.argsort(values)[::-1][:2]
        places = vectors[:, top] * np.sqrt(np.maximum(values[top], 0))
    else:
        places = np.array([[-1.0, 0.0], [1.0, 0.0]])[:k]
    # Pull far-off themes in (square root of the distance from the middle), so that one odd
    # theme does not squeeze all the others into a corner.
    places = places - np.median(places, axis=0)
    distance = np.linalg.norm(places, axis=1, keepdims=True)
    typical = float(np.median(distance)) or 1.0
    places = places * np.sqrt(distance / typical) / np.where(distance == 0, 1, distance / typical)
    gaps = np.linalg.norm(places[:, None, :] - places[None, :, :], axis=2)
    np.fill_diagonal(gaps, np.inf)
    extent = float(gaps[np.isfinite(gaps)].max()) if k > 1 else 1.0
    nearest = float(np.median(gaps.min(axis=1))) if k > 1 else 1.0
    radius = max(0.45 * nearest, 0.07 * extent) or 1.0  # how far a theme's dots spread
    spread = np.zeros((n, 2), dtype=np.float64)
    for cluster in range(k):
        members = np.flatnonzero(labels == cluster)
        if len(members) < 2:
            continue
        residuals = points[members] - centres[cluster]
        _, _, vt = np.linalg.svd(residuals[:300], full_matrices=False)  # directions: a few hundred tell
        local = residuals @ vt[:2].T
        scale = 2 * local.std(axis=0)  # each direction on its own, so a theme looks round
        # A theme of near-identical questions stays a tight knot (its spread is float noise).
        spread[members, : local.shape[1]] = local / np.maximum(scale, 0.05)
    coords = places[labels] + spread * radius
    # A fixed orientation, so that the same data always draws the same map.
    signs = np.sign(coords.sum(axis=0))
    signs[signs == 0] = 1
    return (coords * signs).astype(np.float32)


def _fold(labels: np.ndarray, min_size: int) -> np.ndarray:
    """Theme ids: the clusters by size (largest first, 0, 1, ...), small ones OTHER_ID."""
    sizes = Counter(labels.tolist())
    first_item = {c: int(np.argmax(labels == c)) for c in sizes}
    kept = sorted((c for c, s in sizes.items() if s >= min_size), key=lambda c: (-sizes[c], first_item[c]))
    mapping = {c: i for i, c in enumerate(kept)}
    return np.array([mapping.get(c, OTHER_ID) for c in labels.tolist()], dtype=np.int64)


# -- names: phrases that set a theme apart ------------------------------------

_PHRASE_TOKEN = re.compile(r"(?u)\w+(?:['’]\w+)*")
# What is left of a contraction when the apostrophe is dropped ("doesn't" typed "doesnt" or
# split at the apostrophe): never a topic.
CONTRACTIONS = frozenset(
    "doesn doesnt didn didnt don dont isn isnt wasn wasnt aren arent weren werent haven havent "
    "hasn hasnt hadn hadnt won wont wouldn wouldnt couldn couldnt shouldn shouldnt can cant "
    "cannot im ive id ill youre youve theyre thats whats ain".split()
)
# Verbs and fillers that questions use whatever their topic: a phrase neither starts nor ends
# with one ("does it mean", "getting").
QUESTION_WORDS = frozenset(
    "does did doing done get gets getting got let lets want wants wanted need needs needed "
    "tried try trying mean means meant say says said tell told know knew like just really also "
    "still even way thing things something anything use using used make makes made happen "
    "happens happened possible able work works worked please yes going go went come came "
    "provide provides look looking help".split()
)
PHRASE_WORDS = 3  # longest phrase


def _phrase_word(token: str) -> tuple[str, bool]:
    """A token of a phrase, and whether it can carry a topic (start or end a phrase)."""
    word = token.lower().replace("’", "'")
    if word.endswith("'s"):
        word = word[:-2]
    if "'" in word:  # a contraction: I'm, doesn't, we've
        return word, False
    word = _strip_particle(word)
    content = (len(word) > 1 and not word.isdigit() and word not in stop_words()
               and word not in CONTRACTIONS and word not in QUESTION_WORDS)
    return word, content


def phrases(text: str) -> list[str]:
    """The phrases of 1-3 words in a text that start and end with a word that can carry a topic."""
    words = [_phrase_word(t) for t in _PHRASE_TOKEN.findall(text or "")]
    out = []
    for i, (word, content) in enumerate(words):
        if not content:
            continue
        out.append(word)
        for size in range(2, PHRASE_WORDS + 1):
            window = words[i:i + size]
            if len(window) == size and window[-1][1] and "'" not in "".join(w for w, _ in window):
                out.append(" ".join(w for w, _ in window))
    return out


def stem(word: str) -> str:
    """A crude stem, so that 'charge', 'charged' and 'charges' count as one word."""
    for suffix in ("ing", "ed", "es", "s", "e"):
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            return word[: -len(suffix)]
    return word


def _phrase_counts(texts: Sequence[str]) -> tuple[Any, np.ndarray]:
    """Counts of every phrase found in at least two texts (one when there are few)."""
    from scipy import sparse
    from sklearn.feature_extraction.text import CountVectorizer

    vectorizer = CountVectorizer(analyzer=phrases, min_df=2 if len(texts) >= 20 else 1, dtype=np.float32)
    try:
        return vectorizer.fit_transform(texts), vectorizer.get_feature_names_out()
    except ValueError:  # no phrase at all (only stop words, digits or punctuation)
        return sparse.csr_matrix(np.zeros((len(texts), 0), dtype=np.float32)), np.array([], dtype=object)


def theme_terms(
    counts: Any, vocabulary: np.ndarray, labels: np.ndarray, top: int = TOP_TERMS
) -> dict[int, list[str]]:
    """The distinguishing phrases of each theme by class-based TF-IDF, best first, with a
    phrase left out when it shares a word with a better one."""
    from scipy import sparse

    themes = sorted(set(labels.tolist()))
    if not counts.shape[1] or not themes:
        return {t: [] for t in themes}
    index = {t: i for i, t in enumerate(themes)}
    rows = np.array([index[t] for t in labels.tolist()])
    membership = sparse.csr_matrix(
        (np.ones(len(rows), dtype=np.float32), (rows, np.arange(len(rows)))),
        shape=(len(themes), len(rows)),
    )
    per_theme = np.asarray((membership @ counts).todense(), dtype=np.float64)
    sizes = np.bincount(rows, minlength=len(themes)).astype(np.float64)[:, None]
    # Share of the theme's questions holding the phrase, against its frequency everywhere;
    # longer phrases are preferred a little, as they read better.
    tf = per_theme / np.where(sizes == 0, 1, sizes)
    frequency = per_theme.sum(axis=0)
    idf = np.log(1 + sizes.mean() / np.where(frequency == 0, 1, frequency))
    length = np.array([1.0 + 0.15 * (str(v).count(" ")) for v in vocabulary])
    scores = tf * idf * length
    result: dict[int, list[str]] = {}
    for theme, i in index.items():
        order = np.argsort(-scores[i], kind="stable")[: top * 8]
        candidates = [str(vocabulary[j]) for j in order if per_theme[i, j] > 0]
        result[theme] = _distinct_terms(candidates, top)
    return result


def _distinct_terms(terms: list[str], top: int) -> list[str]:
    """Terms in order, without one that shares a (stemmed) word with a term kept before it."""
    chosen: list[str] = []
    taken: set[str] = set()
    for term in terms:
        stems = {stem(w) for w in term.split()}
        if stems & taken:
            continue
        chosen.append(term)
        taken |= stems
        if len(chosen) >= top:
            break
    return chosen


def theme_label(terms: list[str]) -> str:
    """A readable name from a theme's best phrase, e.g. 'New card not arrived'."""
    if not terms:
        return "(no common words)"
    return terms[0][:1].upper() + terms[0][1:]


def _distinct_labels(terms: dict[int, list[str]]) -> dict[int, str]:
    """Labels for the themes, with the second phrase added where two would read the same."""
    labels = {t: theme_label(words) for t, words in terms.items()}
    counted = Counter(labels.values())
    for theme, label in labels.items():
        if counted[label] > 1 and len(terms[theme]) > 1:
            labels[theme] = f"{label} · {terms[theme][1]}"
    return labels


# -- the whole clustering -----------------------------------------------------


def cluster_texts(
    texts: Sequence[str],
    *,
    k: int | None = None,
    seed: int = 0,
    vectorizer: str = DEFAULT_VECTORIZER,
    embed: Embed | None = None,
    progress: Progress | None = None,
) -> Clustering:
    """Cluster texts into themes (k None: chosen automatically); see the module docstring."""
    from threadpoolctl import threadpool_limits

    # On a small machine that is busy, threads of the linear algebra (BLAS) spend more time
    # waiting for each other than working: one thread is several times faster.
    with threadpool_limits(limits=1):
        return _cluster_texts(texts, k, seed, vectorizer, embed, progress)


def _cluster_texts(
    texts: Sequence[str],
    k: int | None,
    seed: int,
    vectorizer: str,
    embed: Embed | None,
    progress: Progress | None,
) -> Clustering:
    report = progress or (lambda stage, fraction: None)
    timings: dict[str, float] = {}
    clock = time.perf_counter()

    def lap(stage: str) -> None:
        nonlocal clock
        now = time.perf_counter()
        timings[stage] = timings.get(stage, 0.0) + now - clock
        clock = now

    n = len(texts)
    report("Reading every question", 0.0)
    points = vectorize(texts, vectorizer, seed=seed, embed=embed)
    lap("vectorize")
    auto = k is None
    scores: dict[int, float] = {}
    if n < 3:
        k = 0 if not n else 1
        raw, typicality, centres = cluster_points(points, k, seed)
    else:
        report("Grouping similar questions", 0.3)
        sample = fit_sample(n, seed)
        tree = ward_tree(points[sample])
        lap("tree")
        if auto:
            k, scores = choose_k(points[sample], tree, seed=seed, n_total=n,
                                 progress=lambda stage, f: report(stage, 0.4 + 0.3 * f))
        k = max(1, min(int(k or 1), len(sample)))
        lap("choose_k")
        report(f"Grouping into {k} themes", 0.7)
        raw, typicality, centres = cluster_points(points, k, seed, tree, sample)
    size = min_theme_size(n)
    labels = _fold(raw, size) if n else raw
    coords = map_coordinates(points, raw, centres) if n else np.zeros((0, 2), dtype=np.float32)
    lap("cluster")
    report("Naming the themes", 0.85)
    named = fit_sample(n, seed, TERMS_SAMPLE)
    counts, vocabulary = _phrase_counts([texts[i] for i in named.tolist()])
    terms = theme_terms(counts, vocabulary, labels[named])
    for theme in set(labels.tolist()) - set(terms):  # no member in the sample
        terms[theme] = []
    lap("terms")
    return Clustering(labels, typicality, coords, terms, k, auto, scores, size, timings)


def _small(vectors: Any, n: int) -> np.ndarray:
    from sklearn.preprocessing import normalize

    if not n:
        return np.zeros((0, 2), dtype=np.float32)
    dense = vectors.toarray() if hasattr(vectors, "toarray") else np.asarray(vectors)
    return normalize(dense.astype(np.float32))


# -- describing themes --------------------------------------------------------


def trend_period(first: str | None, last: str | None) -> str:
    """'day' when the items span at most 62 days, else 'week' (unreadable dates count as none)."""
    first_day, last_day = stored_day(first), stored_day(last)
    if first_day is None or last_day is None:
        return "day"
    return "day" if (last_day - first_day).days <= 62 else "week"


def _bucket(created_at: str | None, period: str) -> date | None:
    """The day or week (its Monday) of a stored time; None for a date no import would accept."""
    day = stored_day(created_at)
    if day is None or period == "day":
        return day
    return day - timedelta(days=day.weekday())


def _buckets(first: date, last: date, period: str) -> list[date]:
    step = timedelta(days=1 if period == "day" else 7)
    out, current = [], first
    while current <= last:
        out.append(current)
        current += step
    return out


def _dated(rows: Sequence[dict[str, Any]]) -> list[str]:
    """The rows' stored times that are real dates in the accepted range, sorted."""
    days = _days(rows)
    return sorted(r["created_at"] for r, day in zip(rows, days) if day is not None)


def _days(rows: Sequence[dict[str, Any]]) -> list[date | None]:
    """The day of each row's stored time (None when unreadable), read once per distinct day."""
    seen: dict[str, date | None] = {}
    out: list[date | None] = []
    for row in rows:
        text = row.get("created_at")
        key = text[:10] if isinstance(text, str) and len(text) >= 10 else ""
        if key not in seen:
            seen[key] = stored_day(text) if key else None
        out.append(seen[key])
    return out


def _top(values: list[Any], size: int, top: int = 3) -> list[dict[str, Any]]:
    counted = Counter(v for v in values if v)
    return [
        {"name": name, "count": count, "share": count / size}
        for name, count in sorted(counted.items(), key=lambda kv: (-kv[1], str(kv[0])))[:top]
    ]


def describe_themes(rows: Sequence[dict[str, Any]], clustering: Clustering) -> list[dict[str, Any]]:
    """One dict per theme (largest first, 'other' last): the JSON contract and the page's details."""
    n = len(rows)
    if not n:
        return []
    labels = clustering.labels
    days = _days(rows)
    dated = sorted(d for d in days if d is not None)
    period = trend_period(dated[0].isoformat(), dated[-1].isoformat()) if dated else "day"
    step = (lambda d: d) if period == "day" else (lambda d: d - timedelta(days=d.weekday()))
    buckets = [step(d) if d is not None else None for d in days]
    grid = _buckets(step(dated[0]), step(dated[-1]), period) if dated else []
    themes = sorted(set(labels.tolist()), key=lambda t: (t == OTHER_ID, t))
    names = _distinct_labels(clustering.terms)
    described = []
    for theme in themes:
        where = np.flatnonzero(labels == theme)
        order = where[np.argsort(-clustering.typicality[where], kind="stable")]
        members = [rows[i] for i in order]
        stars = [r["stars_mean"] for r in members if r.get("stars_mean") is not None]
        trend = Counter(buckets[i] for i in order.tolist())
        terms = clustering.terms.get(theme, [])
        described.append({
            "id": int(theme),
            "label": OTHER_LABEL if theme == OTHER_ID else names.get(theme, theme_label(terms)),
            "size": len(members),
            "share": len(members) / n,
            "mean_stars": round(float(np.mean(stars)), 3) if stars else None,
            "thumbs_down_share": sum(1 for r in members if (r.get("thumbs_down") or 0) > 0) / len(members),
            "top_terms": terms,
            "examples": [int(r["id"]) for r in members[:EXAMPLES]],
            "members": [int(r["id"]) for r in members],
            "models": _top([r.get("model") for r in members], len(members)),
            "variants": _top([r.get("variant") for r in members], len(members)),
            "trend": [{"period": b.isoformat(), "count": trend.get(b, 0)} for b in grid],
        })
    return described


# -- the whole report ---------------------------------------------------------


@dataclass
class ThemeReport:
    """Themes found among some items, with what the page draws."""

    clusters: list[dict[str, Any]]
    n_items: int
    total: int  # items in scope before the cap
    k: int
    auto: bool
    k_scores: dict[int, float]
    min_size: int
    period: str
    timings: dict[str, float]
    items: dict[int, dict[str, Any]]  # id -> question, stars_mean, thumbs_down, model, variant
    points: list[dict[str, Any]]  # map sample: id, x, y, theme

    @property
    def capped(self) -> bool:
        """Whether only the newest items in scope were clustered."""
        return self.total > self.n_items

    def to_json(self) -> dict[str, Any]:
        """The JSON contract: {"clusters": [{id, label, size, mean_stars, top_terms, examples,
        members, ...}], "n_items": N, ...}."""
        return {
            "clusters": self.clusters,
            "n_items": self.n_items,
            "total_in_scope": self.total,
            "capped": self.capped,
            "k": self.k,
            "k_automatic": self.auto,
            "silhouette": {str(k): round(v, 4) for k, v in self.k_scores.items()},
            "min_theme_size": self.min_size,
            "trend_period": self.period,
            "timings": {k: round(v, 3) for k, v in self.timings.items()},
        }

    def theme(self, theme_id: int) -> dict[str, Any] | None:
        """One theme by id."""
        return next((c for c in self.clusters if c["id"] == theme_id), None)


def find_themes(
    rows: Sequence[dict[str, Any]],
    options: ThemeOptions = ThemeOptions(),
    *,
    total: int | None = None,
    embed: Callable[[list[str]], np.ndarray] | None = None,
    progress: Progress | None = None,
) -> ThemeReport:
    """Cluster store rows (see ``store.themes.cluster_items``) and describe every theme."""
    texts = [item_text(r["question"], r.get("answer"), options.with_answers) for r in rows]
    if embed is None and options.vectorizer.startswith(OLLAMA_PREFIX):
        embed = ollama_embedder(options.vectorizer[len(OLLAMA_PREFIX):], progress=progress)
    if embed is None and options.vectorizer.startswith(OPENAI_PREFIX):
        from dashboard.embedding import openai_embedder

        embed = openai_embedder(options.vectorizer, progress=progress)
    clustering = cluster_texts(texts, k=options.k, seed=options.seed, vectorizer=options.vectorizer,
                               embed=embed, progress=progress)
    started = time.perf_counter()
    clusters = describe_themes(rows, clustering)
    dated = sorted(d for d in _days(rows) if d is not None)
    period = trend_period(dated[0].isoformat(), dated[-1].isoformat()) if dated else "day"
    items = {
        int(r["id"]): {
            "question": r["question"], "stars_mean": r.get("stars_mean"),
            "thumbs_down": r.get("thumbs_down") or 0, "model": r.get("model"),
            "variant": r.get("variant"), "created_at": r.get("created_at"),
        }
        for r in rows
    }
    points = _map_sample(rows, clustering, options.seed)
    timings = {**clustering.timings, "describe": time.perf_counter() - started}
    if progress:
        progress("Done", 1.0)
    return ThemeReport(
        clusters, len(rows), max(total or 0, len(rows)), clustering.k, clustering.auto,
        clustering.k_scores, clustering.min_size, period, timings, items, points,
    )


def _map_sample(rows: Sequence[dict[str, Any]], clustering: Clustering, seed: int) -> list[dict[str, Any]]:
    n = len(rows)
    chosen = np.arange(n)
    if n > MAP_POINTS:
        chosen = np.sort(np.random.default_rng(seed).choice(n, MAP_POINTS, replace=False))
    return [
        {"id": int(rows[i]["id"]), "x": float(clustering.coords[i, 0]),
         "y": float(clustering.coords[i, 1]), "theme": int(clustering.labels[i])}
        for i in chosen.tolist()
    ]


def cluster_report(
    store: Any,
    filters: Any,
    *,
    k: int | None = None,
    seed: int = 0,
    with_answers: bool = False,
    vectorizer: str = DEFAULT_VECTORIZER,
    low_rated: bool = True,
    max_items: int = DEFAULT_MAX_ITEMS,
) -> dict[str, Any]:
    """Themes of the (low-rated) interactions matching ``filters``, as the JSON contract."""
    started = time.perf_counter()
    total = store.themes.cluster_source(filters, low_rated=low_rated)["count"]
    rows = store.themes.cluster_items(filters, low_rated=low_rated, with_answers=with_answers, limit=max_items)
    fetch = time.perf_counter() - started
    options = ThemeOptions(k=k, seed=seed, with_answers=with_answers, vectorizer=vectorizer)
    report = find_themes(rows, options, total=total)
    report.timings = {"fetch": fetch, **report.timings}
    return report.to_json()


# -- actions ------------------------------------------------------------------


def queue_ids(theme: dict[str, Any], limit: int = QUEUE_LIMIT) -> tuple[list[int], bool]:
    """The ids to send to the annotation queue (the most typical ``limit``), and whether cut."""
    members = theme["members"]
    return members[:limit], len(members) > limit


def question_set_items(
    theme: dict[str, Any], items: dict[int, dict[str, Any]], limit: int = QUESTION_SET_LIMIT
) -> list[dict[str, str]]:
    """The theme's distinct questions, most typical first, at most ``limit``."""
    seen: set[str] = set()
    out: list[dict[str, str]] = []
    for iid in theme["members"]:
        question = (items.get(iid, {}).get("question") or "").strip()
        key = " ".join(question.lower().split())
        if question and key not in seen:
            seen.add(key)
            out.append({"question": question})
            if len(out) >= limit:
                break
    return out


def distinct_question_count(theme: dict[str, Any], items: dict[int, dict[str, Any]]) -> int:
    """How many distinct questions the theme holds."""
    keys = {" ".join((items.get(i, {}).get("question") or "").lower().split()) for i in theme["members"]}
    return len(keys - {""})


# -- Ollama embeddings and theme names ----------------------------------------


def embedding_models(names: Sequence[str]) -> list[str]:
    """The model names that look like embedding models (nomic-embed-text, bge-m3, ...)."""
    return [name for name in names if _EMBEDDING_NAME.search(name)]


def ollama_embedder(
    model: str,
    *,
    host: str | None = None,
    timeout: float = 60.0,
    batch: int = 64,
    progress: Progress | None = None,
) -> Callable[[list[str]], np.ndarray]:
    """A function embedding texts with an Ollama embedding model; failures raise BackendError."""
    from dashboard.llm import BackendError, OllamaBackend

    backend = OllamaBackend(host=host, timeout=timeout)

    def embed(texts: list[str]) -> np.ndarray:
        vectors: list[Sequence[float]] = []
        for start in range(0, len(texts), batch):
            chunk = [t or " " for t in texts[start:start + batch]]
            try:
                vectors.extend(backend._client.embed(model=model, input=chunk).embeddings)
            except Exception as exc:  # noqa: BLE001 - one sentence for the user
                raise BackendError(backend._explain(exc, model=model)) from exc
            if progress:
                progress(f"Embedding with {model}: {min(start + batch, len(texts)):,} of {len(texts):,}",
                         0.25 * min(1.0, (start + batch) / max(1, len(texts))))
        return np.asarray(vectors, dtype=np.float32)

    return embed


NAME_SCHEMA = {
    "type": "object",
    "properties": {"name": {"type": "string", "minLength": 3, "maxLength": 48}},
    "required": ["name"],
}


def naming_prompt(
    theme: dict[str, Any], items: dict[int, dict[str, Any]], examples: int = 8
) -> list[dict[str, str]]:
    """Chat messages asking a model for a short name of a theme, from its most typical questions."""
    questions = [
        " ".join((items.get(i, {}).get("question") or "").split())[:200]
        for i in theme["members"][:examples]
    ]
    listing = "\n".join(f"- {q}" for q in questions if q)
    return [
        {"role": "system", "content": (
            "You name groups of customer questions with a short noun phrase of two to five words, "
            "like a help-center section title. Reply with the name only, as JSON: "
            '{"name": "..."}. Example: questions "Where is my new card?" and "My card has not '
            'arrived yet" are named {"name": "New card not arrived"}.')},
        {"role": "user", "content": (
            "These questions received poor answers. Name their common topic "
            f"(at most six words).\nFrequent phrases: {', '.join(theme.get('top_terms', [])[:6])}\n"
            f"Questions:\n{listing}"
        )},
    ]


def clean_theme_name(text: str, limit: int = 60) -> str:
    """The name in a model's reply (JSON {"name": ...} or its first line), without quotes,
    labels, list marks or trailing dots."""
    import json

    text = (text or "").strip()
    try:
        parsed = json.loads(text[text.index("{"): text.rindex("}") + 1]) if "{" in text else None
    except ValueError:
        parsed = None
    if isinstance(parsed, dict) and isinstance(parsed.get("name"), str):
        text = parsed["name"]
    elif quoted := re.search(r"[\"“]([^\"“”\n]{3,60})[\"”]", text):  # 'were named "Annual plan savings"'
        text = quoted.group(1)
    line = next((part.strip() for part in text.splitlines() if part.strip()), "")
    line = re.sub(r"^(name|topic|theme)\s*:\s*", "", line, flags=re.IGNORECASE)
    line = line.strip(" \"'`*#.-•").strip()
    return line[: limit - 1].rstrip() + "…" if len(line) > limit else line


_NOT_A_NAME = re.compile(
    r"^(i\b|i'|sorry|as an\b|here\b|sure\b|certainly|the (common )?(topic|name|theme) (is|of)\b|"
    r"these questions|this (group|theme)|okay\b|ok\b|answer\b|question\b|"
    r"(how|what|why|when|where|which|who|can|could|do|does|is|are)\b.*\?)",
    re.IGNORECASE,
)
NAME_WORDS = 7  # longest name accepted from a model, in words


def acceptable_name(name: str, theme: dict[str, Any], items: dict[int, dict[str, Any]]) -> bool:
    """Whether a model's name reads as a name of this theme: short, made of words, not a
    sentence about itself, and sharing at least one word (stemmed) with its questions or phrases."""
    words = re.findall(r"(?u)\w+", name.lower())
    if not words or len(words) > NAME_WORDS or len(name) > 60 or _NOT_A_NAME.search(name.strip()):
        return False
    letters = sum(ch.isalpha() or ch.isspace() for ch in name)
    if letters < 0.8 * len(name):
        return False
    said = " ".join([*(items.get(i, {}).get("question") or "" for i in theme["members"][:50]),
                     *theme.get("top_terms", [])]).lower()
    known = {stem(_strip_particle(w)) for w in re.findall(r"(?u)\w+", said)}
    return any(stem(_strip_particle(w)) in known for w in words if len(w) > 2 and w not in stop_words())


def name_theme(
    backend: Any, model: str, theme: dict[str, Any], items: dict[int, dict[str, Any]], *,
    check: bool | None = None,
) -> str:
    """A one-line name for a theme written by a chat model; raises BackendError when the model
    fails or, with ``check``, when its reply does not read as a name of the theme (see
    ``acceptable_name``). ``check`` defaults to on for the small embedded model, whose replies
    often ramble; a server's model is taken at its word (and shown inert like any text)."""
    from dashboard.llm import BackendError, ChatStream, EmbeddedBackend, GenerationOptions

    if check is None:
        check = isinstance(backend, EmbeddedBackend)
    result = ChatStream(
        backend, model, naming_prompt(theme, items),
        GenerationOptions(temperature=0.2, max_tokens=32, seed=0, json_schema=NAME_SCHEMA),
    ).run()
    if result.error:
        raise BackendError(result.error)
    name = clean_theme_name(result.text)
    if not name:
        raise BackendError(f"{model} gave no name for this theme: try again or another model.")
    if check and not acceptable_name(name, theme, items):
        raise BackendError(f"{model} answered “{name[:60]}”, which does not read as a name of these "
                           "questions, so the theme keeps its phrase name.")
    return name


def name_themes(
    backend: Any, model: str, report: ThemeReport, *, limit: int = 40, progress: Progress | None = None,
    check: bool | None = None,
) -> tuple[dict[int, str], int]:
    """Model-written names for the largest ``limit`` themes ('other' left out), and how many
    replies were refused (those themes keep their phrase names)."""
    from dashboard.llm import BackendError

    themes = [t for t in report.clusters if t["id"] != OTHER_ID][:limit]
    names: dict[int, str] = {}
    refused = 0
    for done, theme in enumerate(themes):
        if progress:
            progress(f"Naming theme {done + 1} of {len(themes)}", done / max(1, len(themes)))
        try:
            names[theme["id"]] = name_theme(backend, model, theme, report.items, check=check)
        except BackendError:
            refused += 1
    return names, refused


# -- what the page shows ------------------------------------------------------

SORTS = {"size": "Largest first", "worst": "Worst rated first"}


def theme_title(theme: dict[str, Any], names: dict[int, str] | None = None) -> str:
    """The name a model gave the theme, else its label from terms."""
    return (names or {}).get(theme["id"]) or theme["label"]


def sorted_themes(clusters: Sequence[dict[str, Any]], sort: str = "size") -> list[dict[str, Any]]:
    """Themes largest first, or worst rated first (lowest mean stars, then most thumbs down);
    'other' always last."""
    def key(theme: dict[str, Any]) -> tuple:
        if sort == "worst":
            stars = theme["mean_stars"] if theme["mean_stars"] is not None else 6.0
            return (theme["id"] == OTHER_ID, stars, -theme["thumbs_down_share"], -theme["size"])
        return (theme["id"] == OTHER_ID, -theme["size"], theme["id"])

    return sorted(clusters, key=key)


def themes_frame(
    report: ThemeReport, sort: str = "size", names: dict[int, str] | None = None,
    continues: dict[int, str] | None = None,
) -> Any:
    """The themes table: one row per theme, indexed by theme id; with ``continues`` (theme id ->
    saved theme name), a column naming the saved theme each one continues."""
    import pandas as pd

    rows = []
    for theme in sorted_themes(report.clusters, sort):
        top_model = theme["models"][0] if theme["models"] else None
        rows.append({
            "id": theme["id"],
            "Theme": theme_title(theme, names),
            "Items": theme["size"],
            "Share": theme["share"] * 100,
            "Mean stars": theme["mean_stars"],
            "Thumbs down": theme["thumbs_down_share"] * 100,
            "Most hit model": f"{top_model['name']} ({top_model['share']:.0%})" if top_model else "",
            "Trend": [point["count"] for point in theme["trend"]],
            "Saved theme": (continues or {}).get(theme["id"], "new" if theme["id"] != OTHER_ID else ""),
        })
    columns = ["id", "Theme", "Items", "Share", "Mean stars", "Thumbs down", "Most hit model", "Trend"]
    if continues is not None:
        columns.append("Saved theme")
    return pd.DataFrame(rows, columns=columns).set_index("id")


def map_frame(report: ThemeReport, names: dict[int, str] | None = None, preview: int = 90) -> Any:
    """The map's points: x, y, theme title, and hover text made inert (HTML escaped)."""
    import html

    import pandas as pd

    titles = {t["id"]: theme_title(t, names) for t in report.clusters}
    order = {t["id"]: i for i, t in enumerate(sorted_themes(report.clusters))}
    rows = []
    for point in report.points:
        item = report.items.get(point["id"], {})
        question = " ".join((item.get("question") or "").split())
        if len(question) > preview:
            question = question[: preview - 1] + "…"
        stars = item.get("stars_mean")
        rows.append({
            "x": point["x"], "y": point["y"], "id": point["id"],
            "theme": html.escape(titles.get(point["theme"], OTHER_LABEL)),
            "order": order.get(point["theme"], len(order)),
            "question": html.escape(question),
            "rating": (f"{stars:.1f} stars" if stars is not None else "no stars")
                      + (" · thumbs down" if item.get("thumbs_down") else ""),
        })
    frame = pd.DataFrame(rows, columns=["x", "y", "id", "theme", "order", "question", "rating"])
    return frame.sort_values(["order", "id"], kind="stable")


def trend_frame(theme: dict[str, Any]) -> Any:
    """A theme's items per day or week, as a DataFrame indexed by the period's first day."""
    import pandas as pd

    frame = pd.DataFrame(theme["trend"], columns=["period", "count"])
    frame["period"] = pd.to_datetime(frame["period"])
    return frame.set_index("period").rename(columns={"count": "Items"})


def share_text(entries: list[dict[str, Any]]) -> str:
    """'qwen2.5:7b 62% · llama3.2:3b 30%' from a theme's top models or variants."""
    return " · ".join(f"{e['name']} {e['share']:.0%}" for e in entries) or "—"


def summary_sentence(report: ThemeReport, low_rated: bool) -> str:
    """What was clustered, e.g. '1,234 low-rated items in 9 themes (k chosen automatically).'"""
    scope = "low-rated items" if low_rated else "items"
    themes = sum(1 for c in report.clusters if c["id"] != OTHER_ID)
    other = next((c["size"] for c in report.clusters if c["id"] == OTHER_ID), 0)
    how = "chosen automatically by silhouette" if report.auto else "fixed"
    text = f"{report.n_items:,} {scope} in {themes} theme{'s' if themes != 1 else ''} (k = {report.k}, {how})"
    if other:
        text += f"; {other:,} items from themes under {report.min_size} items are under “other”"
    if report.capped:
        text += f". Only the newest {report.n_items:,} of {report.total:,} matching items were clustered"
    return text + "."
