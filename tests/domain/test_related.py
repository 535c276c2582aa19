"""Related stories' scoring with plain values (bot/domain/related.py): which stems make the
query, what two stories' shared words weigh, and how candidates rank and stay distinct."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bot.domain.related import (
    MAX_RELATED,
    RELATED_MIN_SCORE,
    SUMMARY_IN_SUMMARY,
    TITLE_IN_SUMMARY,
    TITLE_IN_TITLE,
    Candidate,
    StemFrequencies,
    count_stems,
    rank_related,
    related_score,
    related_terms,
)

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)


def story(
    id: int,
    title: str,
    summary: str = "",
    *,
    section: str | None = None,
    link: str | None = "",
    hours_ago: float = 0,
) -> Candidate:
    return Candidate(
        id=id,
        title=title,
        summary=summary,
        link=link if link != "" else f"https://example.com/{id}",
        section=section,
        published_at=NOW - timedelta(hours=hours_ago),
    )


def test_shared_words_weigh_by_where_they_stand() -> None:
    own = story(10, "Wheat harvest breaks records")
    assert related_score(own, story(1, "Record wheat harvest")) == 3 * TITLE_IN_TITLE
    assert related_score(own, story(2, "Farmers", "The wheat is in.")) == TITLE_IN_SUMMARY
    summary = "Farmers gathered wheat in the north."
    both = related_score(story(11, "News", summary), story(3, "Other", summary + " Also rain."))
    # The shared sentence is boilerplate to both: it weighs nothing.
    assert both == 0.0
    apart = related_score(
        story(12, "News", "Farmers gathered wheat."), story(4, "Other", "Wheat farmers rejoice.")
    )
    assert apart == 2 * SUMMARY_IN_SUMMARY


def test_inflections_meet_through_stems() -> None:
    own = story(10, "ЦИК подвел итоги выборов")
    assert related_score(own, story(1, "Выборы прошли спокойно")) == TITLE_IN_TITLE


def test_common_stems_weigh_nothing() -> None:
    frequencies = StemFrequencies({"harve": 100}, 1000)
    assert frequencies.is_common("harve") and not frequencies.is_common("wheat")
    own = story(10, "Wheat harvest")
    assert related_score(own, story(1, "Wheat harvest"), frequencies) == TITLE_IN_TITLE
    assert related_score(own, story(1, "Wheat harvest")) == 2 * TITLE_IN_TITLE


def test_frequencies_count_each_story_once_and_call_little_common_in_a_small_sample() -> None:
    frequencies = count_stems(
        [("Wheat harvest", "Wheat everywhere. " + "x" * 500 + " barley"), ("Wheat", "")]
    )
    assert frequencies.sample == 2
    assert frequencies.count("wheat") == 2
    assert frequencies.count("harve") == 1
    assert frequencies.count("barle") == 0  # past the summary prefix
    assert not frequencies.is_common("wheat")
    assert frequencies.is_rare("wheat")
    big = StemFrequencies({"wheat": 6, "harve": 5}, 5000)
    assert big.is_rare("harve") and not big.is_rare("wheat")


def test_terms_rare_headline_stems_alone_the_others_in_pairs() -> None:
    frequencies = StemFrequencies({"harve": 50, "recor": 10, "wheat": 1}, 5000)
    own = story(10, "Record wheat harvest in the north", "Farmers gathered wheat and barley.")
    rare, paired = related_terms(own, frequencies)
    assert rare == ["wheat", "north"]
    # "harve" is common (50 > 15): never a term; "recor" is neither rare nor common.
    assert paired == ["recor", "farme", "gathe", "barle"]
    assert related_terms(own) == (["recor", "wheat", "harve", "north"], ["farme", "gathe", "barle"])


def test_ranking_by_score_then_section_then_recency() -> None:
    own = story(10, "Wheat harvest record", section="economy")
    candidates = [
        story(1, "Wheat harvest", hours_ago=5),  # 6
        story(2, "Wheat harvest begins", section="economy", hours_ago=6),  # 6 + 1.5
        story(3, "Harvest of wheat ends", hours_ago=1),  # 6, newer than 1
        story(4, "Record wheat harvest", hours_ago=9),  # 9
        story(5, "Wheat prices", hours_ago=0),  # 3: the minimum
        story(6, "Barley prices", "Some wheat here."),  # 2: below the minimum
    ]
    ranked = rank_related(own, candidates, limit=10)
    assert [c.id for c in ranked] == [4, 2, 3, 1, 5]
    assert TITLE_IN_TITLE >= RELATED_MIN_SCORE > TITLE_IN_SUMMARY
    assert [c.id for c in rank_related(own, candidates)] == [4, 2, 3][:MAX_RELATED]


def test_never_the_story_a_linkless_one_or_a_duplicate() -> None:
    own = story(10, "Wheat harvest record", link="https://example.com/own")
    candidates = [
        story(10, "Wheat harvest record"),  # itself
        story(1, "Wheat harvest record!", link=None),  # nothing to link to
        story(2, "  WHEAT harvest record ", hours_ago=1),  # the story's own title
        story(3, "Record harvest of wheat", link="https://example.com/own"),  # its link
        story(4, "Wheat harvest: a record", hours_ago=2),
        story(5, "wheat harvest: a record", hours_ago=3),  # a pick's title
        story(6, "The record wheat harvest", link="https://example.com/4", hours_ago=4),
    ]
    assert [c.id for c in rank_related(own, candidates, limit=10)] == [4]
