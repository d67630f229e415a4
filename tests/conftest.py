import pytest

from tests.smtp_server import SmtpServer


@pytest.fixture
def smtp_server():
    with SmtpServer() as server:
        yield server
