"""Civitai post/image references in the forms users paste (docs/civitai-import.md)."""

import pytest

from tracking.civitai_urls import image_url, parse_image_ref, parse_post_ref, post_url
from tracking.errors import InvalidInput

GOOD_POSTS = [
    ("24681012", 24681012),
    ("  24681012\n", 24681012),
    (24681012, 24681012),
    ("1", 1),
    ("2147483647", 2147483647),
    ("https://civitai.com/posts/24681012", 24681012),
    ("http://civitai.com/posts/24681012", 24681012),
    ("HTTPS://CIVITAI.COM/posts/24681012", 24681012),
    ("https://www.civitai.com/posts/24681012", 24681012),
    ("https://Www.Civitai.Green/posts/24681012", 24681012),
    ("https://civitai.green/posts/24681012/edit", 24681012),
    ("https://civitai.red/posts/24681012/", 24681012),
    ("https://civitai.com/posts/24681012?view=feed&postId=5", 24681012),
    ("https://civitai.com/posts/24681012#comments", 24681012),
    ("https://civitai.com/posts/24681012/edit/?x=1#y", 24681012),
    ("https://civitai.com/en/posts/24681012", 24681012),
]

BAD_POSTS = [
    ("", "empty"),
    ("   ", "empty"),
    ("0", "between 1 and 2147483647"),
    ("2147483648", "between 1 and 2147483647"),
    ("9999999999", "between 1 and 2147483647"),
    ("12345678901", "not an http(s) URL"),
    ("-5", "not an http(s) URL"),
    ("12a", "not an http(s) URL"),
    ("civitai.com/posts/123", "not an http(s) URL"),
    ("ftp://civitai.com/posts/123", "not an http(s) URL"),
    ("https://civitai.com.evil.example/posts/123", "not a Civitai site host"),
    ("https://evilcivitai.com/posts/123", "not a Civitai site host"),
    ("https://image.civitai.com/xG1nkqKTMzGDvpLrqFT7WA/abc/original=true/1.jpeg", "not a Civitai"),
    ("https://civitai.com:8443/posts/123", "unexpected port"),
    ("https://user:pw@civitai.com/posts/123", "unexpected port or credentials"),
    ("https://civitai.com/posts/", "no /posts/<id>"),
    ("https://civitai.com/posts/abc", "no /posts/<id>"),
    ("https://civitai.com/posts/0", "between 1 and 2147483647"),
    ("https://civitai.com/posts/2147483648", "between 1 and 2147483647"),
    ("https://civitai.com/posts/12345678901", "no /posts/<id>"),
    ("https://civitai.com/images/123", "this is an image URL, not a post URL"),
    ("https://civitai.com/models/123?postId=5", "no /posts/<id>"),
    (None, "no value"),
    (True, "no value"),
    (1.5, "not a string"),
]


@pytest.mark.parametrize(("text", "expected"), GOOD_POSTS)
def test_it_parses_post_references(text, expected):
    assert parse_post_ref(text) == expected


@pytest.mark.parametrize(("text", "reason"), BAD_POSTS)
def test_it_refuses_bad_post_references_listing_the_accepted_forms(text, reason):
    with pytest.raises(InvalidInput) as exc:
        parse_post_ref(text)
    message = exc.value.message
    assert reason in message
    assert message.startswith("post must be a valid integer ID or a Civitai post URL")
    assert "https://civitai.com/posts/123456" in message
    assert "civitai.green" in message and "/edit" in message


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("123456789", 123456789),
        ("https://civitai.com/images/123456789", 123456789),
        ("https://civitai.red/images/123456789/?postId=987&modelVersionId=5#c", 123456789),
        ("http://WWW.civitai.green/images/96712457", 96712457),
    ],
)
def test_it_parses_image_references_ignoring_query_ids(text, expected):
    assert parse_image_ref(text) == expected


@pytest.mark.parametrize(
    "text", ["https://civitai.com/posts/123", "0", "https://civitai.com/images/0", "image 5"]
)
def test_it_refuses_bad_image_references(text):
    with pytest.raises(
        InvalidInput, match=r"image must be a valid integer ID or a Civitai image URL"
    ):
        parse_image_ref(text)


def test_it_names_the_given_field_in_the_message():
    with pytest.raises(InvalidInput, match=r"^post_id must be a valid integer ID"):
        parse_post_ref("nope", field="post_id")


def test_it_builds_canonical_urls_that_parse_back():
    assert post_url(23602354) == "https://civitai.com/posts/23602354"
    assert image_url(96712457) == "https://civitai.com/images/96712457"
    assert parse_post_ref(post_url(23602354)) == 23602354
    assert parse_image_ref(image_url(96712457)) == 96712457
