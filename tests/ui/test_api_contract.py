"""The named HTTP endpoints are a contract with notebooks, scripts and MCP clients: their parameters
(names, defaults, components, types) and their returns stay exactly as recorded in api_contract.json,
which was taken from `demo.get_api_info()` before the tabs were rewired by name (issue 20). Descriptions
may improve; anything else that changes here breaks a caller."""
import json
from pathlib import Path

CONTRACT = json.loads((Path(__file__).with_name("api_contract.json")).read_text())


def _shape(info: dict) -> dict:
    out = {}
    for name, endpoint in info["named_endpoints"].items():
        keep = ("parameter_name", "parameter_has_default", "parameter_default", "component")
        out[name] = {
            "parameters": [{**{k: p.get(k) for k in keep}, "python_type": p["python_type"]["type"]}
                           for p in endpoint["parameters"]],
            "returns": [{"component": r.get("component"), "python_type": r["python_type"]["type"]}
                        for r in endpoint["returns"]],
        }
    return out


def test_every_named_endpoint_keeps_its_parameters_and_returns():
    from explorer.ui import build_demo

    now = _shape(build_demo().get_api_info())
    assert sorted(now) == sorted(CONTRACT), "named endpoints added or removed"
    for name, contract in CONTRACT.items():
        assert now[name] == contract, f"{name} changed its parameters or returns"
