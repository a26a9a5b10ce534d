"""Locust users for the portal load test (`make loadtest`, driven by bench/load_portal.py): one user class per
portal query of the offers issue, plus the newcomer search. Anonymous, like a welcome portal.

Each user sends its next request as soon as the previous one is answered (no think time), so N users keep exactly
N requests in flight. A response counts as a failure unless it is a 200 with the expected JSON shape.
"""

from locust import HttpUser, constant, task

PAGE_SIZE = 20


class PortalUser(HttpUser):
    abstract = True
    wait_time = constant(0)

    def get_page(self, name: str, params: dict) -> None:
        with self.client.get(
            "/api/v1/offers/", params={**params, "page_size": PAGE_SIZE}, name=name, catch_response=True
        ) as response:
            if response.status_code != 200:
                response.failure(f"status {response.status_code}: {response.text[:200]}")
                return
            body = response.json()
            if not isinstance(body.get("results"), list) or len(body["results"]) > PAGE_SIZE or "count" not in body:
                response.failure(f"unexpected body: {response.text[:200]}")
            elif not body["results"]:
                response.failure("empty page: the demo data should match this query")


class OffersNearSearchUser(PortalUser):
    """domain + near 30 km + q, page of 20 (childcare within 30 km of Guéret)."""

    @task
    def near_search(self) -> None:
        self.get_page(
            "offers: domain + near 30 km + q",
            {"domain": "daily-life", "near": "46.1667,1.8667", "radius_km": 30, "q": "crèche"},
        )


class OffersTerritoryThemeUser(PortalUser):
    """territory (the Grand Guéret EPCI) + theme, page of 20."""

    @task
    def territory_theme(self) -> None:
        self.get_page("offers: territory (EPCI) + theme", {"territory": "200034825", "theme": "childcare"})


class OffersListUser(PortalUser):
    """The plain list, page of 20."""

    @task
    def plain_list(self) -> None:
        self.get_page("offers: plain list", {})


class MatchingSearchUser(PortalUser):
    """A newcomer's own words ranked by the matching engine (POST /api/v1/matching/search/)."""

    @task
    def search(self) -> None:
        payload = {"text": "faire garder mon bébé près de Guéret", "audience": "families", "territory": "23096"}
        with self.client.post(
            "/api/v1/matching/search/", json=payload, name="matching: newcomer search", catch_response=True
        ) as response:
            if response.status_code != 200:
                response.failure(f"status {response.status_code}: {response.text[:200]}")
            elif not response.json().get("results"):
                response.failure(f"no result: {response.text[:200]}")
