"""post_heads: what feed planning needs of every stored post, without bodies; and stamp saving."""

from __future__ import annotations

from dataclasses import replace

from syndicator.store import Store
from tests.store.samples import NOW, collect, make_post


def test_heads_match_the_full_posts_newest_first(store: Store) -> None:
    posts = [make_post(n) for n in range(5)]
    posts[2] = replace(posts[2], categories=("뉴스", "news"), tags=())
    store.record_collection(collect(posts), NOW)
    store.record_collection(collect(posts[1:]), NOW)  # post 0 is gone: marked removed
    heads = store.post_heads()
    full = store.posts()
    assert [h.id for h in heads] == [p.id for p in full] == [p.id for p in posts[:0:-1]]
    for head, post in zip(heads, full, strict=True):
        assert head.published == post.published
        assert head.published.utcoffset() == post.published.utcoffset()
        assert (head.categories, head.tags, head.origin) == (
            post.categories,
            post.tags,
            post.origin,
        )
        assert head.content_hash == post.content_hash


def test_stamps_follow_each_collection(store: Store) -> None:
    posts = [make_post(n) for n in range(4)]
    first = collect(posts)
    store.record_collection(first, NOW)
    assert store.source_stamps("blog") == first.stamps
    # complete: one post edited, one gone, two unchanged
    edited = replace(posts[1], title="고친 제목")
    second = collect([edited], unchanged=[posts[2].origin, posts[3].origin])
    store.record_collection(second, NOW)
    assert store.source_stamps("blog") == second.stamps
    assert posts[0].origin not in store.source_stamps("blog")
    # incomplete: only the stamps it reports change; the others stay
    third = collect([replace(posts[2], title="또 고침")], complete=False)
    store.record_collection(third, NOW)
    expected = {**second.stamps, **third.stamps}
    assert store.source_stamps("blog") == expected
