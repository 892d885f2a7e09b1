import requests  # noqa: F401
import yaml

print(yaml.safe_dump({"ok": True}))
