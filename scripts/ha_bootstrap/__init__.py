"""Drive a real Home Assistant for scripts/develop, the end-to-end tests and the soak test.

All of them need the same steps (a configuration folder, a simulated meter, a `hass` process,
onboarding, the setup wizard over REST, Energy preferences over the websocket). Keeping them in
one package means the newcomer's environment is exactly what tests/e2e checks.

Nothing here imports Home Assistant: REST goes through urllib, the websocket through aiohttp
(a Home Assistant dependency, so always in the venv).

    config.py     the configuration folder (configuration.yaml, the integration link)
    processes.py  child processes: hass, the meter simulator, free ports
    client.py     REST and websocket client: onboarding, login, wizard, Energy, dashboards
    meter.py      the simulated meter's wizard answers and its sensors
    develop.py    scripts/develop
"""
