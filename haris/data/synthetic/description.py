"""A description of one object in a synthetic scene, and the sentence that speaks it."""

from __future__ import annotations

from dataclasses import dataclass

from haris.data.synthetic.vocabulary import NOUN_WITHOUT_SHAPE


@dataclass(frozen=True)
class Description:
    """Stated attributes, plus at most one of an absolute position or a relation to a landmark.

    `attributes` holds (name, value) pairs in spoken order (size, colour, shape); the landmark is
    itself described by attributes alone.
    """

    attributes: tuple[tuple[str, str], ...]
    position: str | None = None
    relation: str | None = None
    landmark_index: int | None = None
    landmark: Description | None = None

    def text(self) -> str:
        """The sentence, e.g. "the small red circle left of the blue square"."""
        values = dict(self.attributes)
        words = ["the"] + [values[name] for name in ("size", "colour") if name in values]
        words.append(values.get("shape", NOUN_WITHOUT_SHAPE))
        if self.position is not None:
            words.append(self.position)
        if self.relation is not None and self.landmark is not None:
            words += [self.relation, self.landmark.text()]
        return " ".join(words)

    def without(self, name: str) -> Description:
        """The same description with the attribute `name` left out."""
        kept = tuple(pair for pair in self.attributes if pair[0] != name)
        return Description(kept, self.position, self.relation, self.landmark_index, self.landmark)

    def attributes_only(self) -> Description:
        """The same attributes without the position or relation."""
        return Description(self.attributes)
