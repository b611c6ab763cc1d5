"""Contract tests for posts: baseline, new/changed/removed, queries, stamps, state and caches."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import pytest

from syndicator.errors import StoreError
from syndicator.store import Store
from tests.store.samples import KST, NOW, collect, make_post


def test_first_collection_is_a_baseline_with_nothing_new(store: Store) -> None:
    posts = [make_post(n) for n in range(3)]
    result = store.record_collection(collect(posts), NOW)
    assert result.baseline is True
    assert result.new == ()
    assert store.post_count() == 3
    # the second collection is no longer a baseline: a new post is reported as new
    later = store.record_collection(
        collect([make_post(3)], unchanged=[p.origin for p in posts]), NOW
    )
    assert later.baseline is False
    assert later.new == (make_post(3).id,)
    assert later.unchanged == 3
    assert later.removed == ()


def test_baseline_is_per_source(store: Store) -> None:
    store.record_collection(collect([make_post(1)]), NOW)
    other = store.record_collection(collect([make_post(50, source="feed")], source="feed"), NOW)
    assert other.baseline is True and other.new == ()


def test_changed_post_is_reported_and_stored_entirely(store: Store) -> None:
    store.record_collection(collect([make_post(1), make_post(2)]), NOW)
    edited = make_post(1, title="고친 제목", tags=("llm", "edited"))
    same = make_post(2)  # re-read but identical: not "changed"
    result = store.record_collection(collect([edited, same]), NOW + timedelta(hours=1))
    assert result.changed == (edited.id,)
    assert result.unchanged == 1
    assert result.new == ()
    [stored] = store.get_posts([edited.id])
    assert stored == edited
    assert store.posts(topic="edited") == [edited]
    assert store.posts(topic="tag1") == []  # the old tag of post 1 is gone


def test_post_round_trips_with_its_offset_and_hash(store: Store) -> None:
    post = make_post(7, excerpt="요약", image="https://blog.example.com/a.png", authors=())
    store.record_collection(collect([post]), NOW)
    [stored] = store.get_posts([post.id])
    assert stored == post
    assert stored.published.utcoffset() == timedelta(hours=9)
    assert stored.published.isoformat() == post.published.isoformat()
    assert stored.content_hash == post.content_hash


def test_complete_collection_marks_unseen_posts_removed(store: Store) -> None:
    posts = [make_post(n) for n in range(3)]
    store.record_collection(collect(posts), NOW)
    result = store.record_collection(collect([], unchanged=[posts[0].origin, posts[2].origin]), NOW)
    assert result.removed == (posts[1].id,)
    assert store.post_count() == 2
    assert [p.id for p in store.posts()] == [posts[2].id, posts[0].id]
    assert store.get_posts([posts[1].id]) == [posts[1]]  # kept, just hidden
    assert store.source_stamps("blog").keys() == {posts[0].origin, posts[2].origin}
    # removed once: not reported again; a post that comes back is "changed"
    again = store.record_collection(collect([], unchanged=[posts[0].origin, posts[2].origin]), NOW)
    assert again.removed == ()
    back = store.record_collection(
        collect([posts[1]], unchanged=[posts[0].origin, posts[2].origin]), NOW
    )
    assert back.changed == (posts[1].id,) and back.new == ()
    assert store.post_count() == 3


@pytest.mark.parametrize(
    ("complete", "failed"),
    [
        pytest.param(False, False, id="incomplete"),
        pytest.param(True, True, id="failed"),
    ],
)
def test_incomplete_or_failed_collection_removes_nothing(
    store: Store, complete: bool, failed: bool
) -> None:
    posts = [make_post(n) for n in range(3)]
    store.record_collection(collect(posts), NOW)
    result = store.record_collection(collect([], complete=complete, failed=failed), NOW)
    assert result.removed == ()
    assert store.post_count() == 3
    assert len(store.source_stamps("blog")) == 3


def test_removal_is_limited_to_the_collected_source(store: Store) -> None:
    store.record_collection(collect([make_post(1)]), NOW)
    store.record_collection(collect([make_post(2, source="feed")], source="feed"), NOW)
    result = store.record_collection(collect([], source="feed"), NOW)
    assert result.removed == (make_post(2).id,)
    assert [p.id for p in store.posts()] == [make_post(1).id]


def test_posts_queries_order_limit_topic_since(store: Store) -> None:
    posts = [make_post(n) for n in range(6)]
    store.record_collection(collect(posts), NOW)
    assert [p.id for p in store.posts()] == [p.id for p in reversed(posts)]
    assert [p.id for p in store.posts(limit=2)] == [posts[5].id, posts[4].id]
    assert [p.id for p in store.posts(topic="news")] == [posts[4].id, posts[2].id, posts[0].id]
    assert [p.id for p in store.posts(topic="tag0")] == [posts[3].id, posts[0].id]
    since = posts[4].published.astimezone(KST)
    assert [p.id for p in store.posts(since=since)] == [posts[5].id, posts[4].id]
    assert store.topics() == {
        "categories": {"news", "research"},
        "tags": {"llm", "tag0", "tag1", "tag2"},
    }
    ids = [posts[3].id, "https://missing.example/", posts[1].id]
    assert [p.id for p in store.get_posts(ids)] == [posts[3].id, posts[1].id]


def test_stamps_and_state_round_trip(store: Store) -> None:
    assert store.source_stamps("blog") == {}
    assert store.source_state("blog") == {}
    collection = collect([make_post(1)])
    store.record_collection(collection, NOW)
    assert store.source_stamps("blog") == dict(collection.stamps)
    assert store.source_state("blog") == {"etag": "abc"}
    store.set_source_state("blog", {"etag": "def", "seen": [1, 2]})
    assert store.source_state("blog") == {"etag": "def", "seen": [1, 2]}


def test_render_cache(store: Store) -> None:
    assert store.cached_renders(["a:1"]) == {}
    store.cache_renders({"a:1": ("<p>본문</p>", "<p>요약</p>", "요약"), "b:1": ("x", "y", "z")})
    store.cache_renders({"a:1": ("<p>새</p>", "<p>요약</p>", "요약")})  # replaces
    assert store.cached_renders(["a:1", "b:1", "c:1"]) == {
        "a:1": ("<p>새</p>", "<p>요약</p>", "요약"),
        "b:1": ("x", "y", "z"),
    }


def test_key_value_state(store: Store) -> None:
    assert store.get_state("feeds.hash") is None
    store.set_state("feeds.hash", "one")
    store.set_state("feeds.hash", "two")
    assert store.get_state("feeds.hash") == "two"


def test_duplicate_ids_in_one_collection_keep_the_last(store: Store) -> None:
    first = make_post(1)
    second = replace(first, title="둘째", origin="_posts/other.md")
    result = store.record_collection(collect([first, second]), NOW)
    assert store.post_count() == 1
    assert store.get_posts([first.id])[0].title == "둘째"
    assert result.baseline


def test_record_collections_stores_many_sources_in_one_go(store: Store) -> None:
    blog = [make_post(n) for n in range(3)]
    feed = [make_post(10 + n, source="feed") for n in range(2)]
    first = store.record_collections(
        [collect(blog), collect(feed, source="feed", complete=False)], NOW
    )
    assert [r.baseline for r in first] == [True, True]
    assert store.post_count() == 5
    later = NOW + timedelta(hours=1)
    edited = make_post(1, title="고친 제목")
    results = store.record_collections(
        [
            collect([edited], unchanged=[blog[0].origin]),  # post 2 is gone: removed
            collect([make_post(12, source="feed")], source="feed", complete=False),
        ],
        later,
    )
    assert results[0].changed == (edited.id,) and results[0].removed == (blog[2].id,)
    assert results[1].new == (make_post(12).id,) and results[1].removed == ()
    assert not any(r.baseline for r in results)
    stamps, states = store.sources_known(["blog", "feed", "never"])
    assert stamps["blog"].keys() == {blog[0].origin, blog[1].origin}
    assert len(stamps["feed"]) == 3 and stamps["never"] == {}
    assert states == {"blog": {"etag": "abc"}, "feed": {"etag": "abc"}, "never": {}}
    assert store.record_collections([], later) == []


def test_record_collections_is_one_transaction(store: Store) -> None:
    good = collect([make_post(1)])
    clash = collect([make_post(2)], source="feed")
    broken = replace(clash, state={"not json": object()})  # fails while saving its state
    with pytest.raises((StoreError, TypeError)):  # SQLite wraps it, psycopg does not
        store.record_collections([good, broken], NOW)
    assert store.post_count() == 0  # the first source's posts were rolled back too
    assert store.sources_known(["blog"]) == ({"blog": {}}, {"blog": {}})


def test_record_collections_matches_one_collection_at_a_time(store: Store, tmp_path: Path) -> None:
    """Rows are written together, yet every source sees what the ones before it stored."""
    shared = make_post(2, source="feed", title="피드에서 온 글", tags=("feed",))
    batch = [
        collect([make_post(1), make_post(2)]),
        collect([shared], source="feed", complete=False),  # same id as a blog post: an update
        collect([make_post(3)], unchanged=[make_post(1).origin]),  # blog again, complete
        collect([make_post(4, source="feed")], source="feed", complete=False, failed=True),
    ]
    one_by_one = Store.open(f"sqlite:///{tmp_path / 'one' / 'db.sqlite'}")
    expected = [one_by_one.record_collection(c, NOW) for c in batch]
    assert store.record_collections(batch, NOW) == expected
    assert expected[1].changed == (shared.id,) and expected[2].new == (make_post(3).id,)
    ids = [make_post(n).id for n in range(1, 5)]
    assert store.get_posts(ids) == one_by_one.get_posts(ids)
    assert store.topics() == one_by_one.topics()
    names = ["blog", "feed"]
    assert store.sources_known(names) == one_by_one.sources_known(names)
    one_by_one.close()
