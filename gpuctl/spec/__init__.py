"""The spec language and its loader.

- `models`: the pydantic models (`Cluster`, `ModelDeployment`), the single source of truth;
- `loader`: `load_specs(paths) -> Specs`, `read_specs(paths) -> LoadResult` (for validate);
- `documents`: YAML with positions; `diagnose`, `checks`, `secrets`: what is wrong, said well;
- `schema`, `reference`: the JSON Schemas and the README's spec reference, generated.
"""
