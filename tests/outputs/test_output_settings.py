"""The outputs' settings: bad values stop the start with a message naming the variable."""

from __future__ import annotations

import pytest

from wacloud.gateway import ConfigError, load_settings


@pytest.mark.parametrize(
    ("overrides", "names"),
    [
        ({"rabbitmq_url": "http://broker:5672"}, "WACLOUD_RABBITMQ_URL"),
        ({"media_keep_types": "image,hologram"}, "WACLOUD_MEDIA_KEEP_TYPES"),
        ({"media_dir": "/tmp/m", "media_s3_bucket": "b"}, "WACLOUD_MEDIA_S3_BUCKET"),
        ({"media_s3_url": "http://127.0.0.1:9000"}, "WACLOUD_MEDIA_S3_BUCKET"),
        ({"media_s3_bucket": "b", "media_s3_url": "ftp://x"}, "WACLOUD_MEDIA_S3_URL"),
        ({"media_keep_attempts": 0}, "WACLOUD_MEDIA_KEEP_ATTEMPTS"),
        ({"media_keep_max_bytes": 0}, "WACLOUD_MEDIA_KEEP_MAX_BYTES"),
    ],
)
def test_bad_output_settings_name_the_variable(overrides: dict[str, object], names: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load_settings(**overrides)
    assert names in str(caught.value)


def test_output_settings_are_read_and_the_broker_password_is_hidden() -> None:
    s = load_settings(rabbitmq_url="amqp://wa:s3cret-pass@broker:5672/prod", media_keep_types="image, document",
                      media_dir="/var/lib/wacloud/media")
    assert s.media_keep_types == ["image", "document"]
    assert s.rabbitmq_url is not None and s.rabbitmq_url.get_secret_value().endswith("/prod")
    assert "s3cret-pass" not in repr(s) and "s3cret-pass" not in str(s.model_dump())
    assert load_settings().media_dir is None and load_settings().rabbitmq_url is None  # both off by default
