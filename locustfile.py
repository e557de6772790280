"""Load test of delivery-images with Locust (headless-friendly).

Mix of the four kinds of traffic a CDN sends on a miss: named rules, ad-hoc transformations,
alias paths and repeats of a small hot set (served from the transformed-image cache). Requests are
grouped per route and kind (the `name=` of each call), so Locust's table reads like the routes.

    npm start &    # tenant demo, domain news, bucket photos; alias news-photos
    python3 -m locust --headless -u 10 -r 2 -t 30s --csv loadtest/results/run

Locust finds this file at the repository root by itself. The host is `--host`, else LOCUST_HOST,
else the local service (http://127.0.0.1:8080). Vegeta's constant-rate targets are in
loadtest/vegeta/targets.txt.

Ad-hoc requests draw random sizes, so most are cache misses and measure the transformation
itself; the repeated set measures the cached path.
"""

import os
import random

from locust import HttpUser, between, task

DEFAULT_HOST = os.environ.get("LOCUST_HOST") or "http://127.0.0.1:8080"

TENANT_PATH = "/tenants/demo/domains/news/buckets/photos/images"
ALIAS_PATH = "/news-photos/images"
IMAGES = ["kleiber.jpg", "raindrops.jpg", "arc-colors.png", "kleiber-animated.gif"]
STILL_IMAGES = ["kleiber.jpg", "raindrops.jpg", "arc-colors.png"]
RULES = ["thumb", "largeDevice155", "progressive", "watermarked"]
FORMATS = ["jpeg", "webp", "avif"]
# Browsers' Accept headers: rules with format "auto" negotiate from them.
ACCEPTS = [
    "image/avif,image/webp,image/apng,image/*,*/*;q=0.8",
    "image/webp,*/*",
    "image/*,*/*;q=0.8",
]
# A few URLs asked again and again, like a CDN's popular objects: after the first, X-Cache: HIT.
HOT = [
    f"{TENANT_PATH}/kleiber.jpg?w=400&fm=webp",
    f"{TENANT_PATH}/raindrops.jpg?rule=thumb",
    f"{ALIAS_PATH}/arc-colors.png?w=300&fm=jpeg&bg=203040",
]


class ImageClient(HttpUser):
    # Used when neither --host nor the web UI gives one.
    host = DEFAULT_HOST
    wait_time = between(0.1, 0.5)

    def _get(self, url, name, headers=None):
        # Any non-2xx is a failure: the mix only asks for images that exist.
        with self.client.get(url, name=name, headers=headers or {}, catch_response=True) as response:
            if response.status_code != 200:
                response.failure(f"{response.status_code} {response.text[:120]}")
            elif not response.headers.get("Content-Type", "").startswith("image/"):
                response.failure(f"not an image: {response.headers.get('Content-Type')}")

    @task(3)
    def rule(self):
        rule = random.choice(RULES)
        image = random.choice(STILL_IMAGES)
        self._get(f"{TENANT_PATH}/{image}?rule={rule}", f"rule {rule}", {"Accept": random.choice(ACCEPTS)})

    @task(3)
    def ad_hoc(self):
        image = random.choice(STILL_IMAGES)
        width = random.randrange(120, 1200, 8)
        fmt = random.choice(FORMATS)
        self._get(f"{TENANT_PATH}/{image}?w={width}&fm={fmt}&q=75", f"ad-hoc fm={fmt}")

    @task(1)
    def ad_hoc_animated(self):
        width = random.randrange(120, 480, 8)
        self._get(f"{TENANT_PATH}/kleiber-animated.gif?w={width}&fm=webp", "ad-hoc animated")

    @task(2)
    def alias(self):
        image = random.choice(STILL_IMAGES)
        width = random.randrange(200, 800, 50)
        self._get(f"{ALIAS_PATH}/{image}?w={width}", "alias w=")

    @task(6)
    def repeated(self):
        self._get(random.choice(HOT), "repeated (cached)")

    @task(1)
    def original(self):
        self._get(f"{TENANT_PATH}/{random.choice(IMAGES)}", "original (no params)")
