"""The magic onboarding host: served by the proxy itself, never upstream."""

from __future__ import annotations

from inspector.core import onboarding
from inspector.core.certs import CertStore
from tests.proxy.harness import run, running_proxy


async def _no_dns(host: str, port: int) -> list[str]:
    raise AssertionError(f"the onboarding host must not be resolved ({host})")


def test_page_and_downloads(proxy_certs: CertStore) -> None:
    async def scenario() -> None:
        async with running_proxy(resolver=_no_dns, certs=proxy_certs) as proxy:
            client = await proxy.client()
            page = await client.request("GET", onboarding.URL)
            assert page.status == 200
            assert page.header(b"Content-Type") == b"text/html; charset=utf-8"
            assert proxy_certs.ca_fingerprint().encode() in page.body
            assert b"update-ca-certificates" in page.body
            pem = await client.request("GET", f"http://{onboarding.HOST}{onboarding.PEM_PATH}")
            assert (pem.status, pem.body) == (200, proxy_certs.ca_cert_pem())
            der = await client.request("GET", f"http://{onboarding.HOST}{onboarding.DER_PATH}")
            assert (der.status, der.body) == (200, proxy_certs.ca_cert_der())
            assert der.header(b"Content-Type") == onboarding.DER_TYPE
            missing = await client.request("GET", f"http://{onboarding.HOST}/nope")
            assert missing.status == 404
            client.close()
            await proxy.wait_flows(4)
            assert all(f.upstream_addr is None for f in proxy.store)

    run(scenario())


def test_without_a_ca_the_page_says_so(proxy_certs: CertStore) -> None:
    async def scenario() -> None:
        async with running_proxy(resolver=_no_dns, certs=proxy_certs, intercept_tls=False) as proxy:
            client = await proxy.client()
            page = await client.request("GET", onboarding.URL)
            assert page.status == 200 and b"interception is off" in page.body
            pem = await client.request("GET", f"http://{onboarding.HOST}{onboarding.PEM_PATH}")
            assert pem.status == 404
            client.close()

    run(scenario())
