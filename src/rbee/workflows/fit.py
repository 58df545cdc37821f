"""Will a catalog model fit on this pool? `fit_model`, and the pool's report for `llorch fleet`.

`fit_model` reads the model's shape from its files (`rbee.fit.model_shape`), estimates what
llama.cpp allocates for it (`rbee.fit.estimate`) and compares that with this machine's GPU memory
or unified-memory budget (`rbee.hardware.pool_info`). `pool_report` gathers everything
`llorch fleet` shows of one pool in one document, so that llorch needs one ssh call per pool.
Neither writes anything.
"""

from __future__ import annotations

import os

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (start-up time)
if TYPE_CHECKING:
    from typing import Any

    from rbee.catalog import ModelCatalog
    from rbee.hardware import PoolInfo


def models_folder(catalog_path: str) -> str:
    """The folder the pool keeps its models in: the catalog's (`.test-models` by default)."""
    return os.path.dirname(os.path.abspath(catalog_path))


def fit_model(
    catalog_path: str,
    root: str,
    pool_id: str,
    model_id: str,
    *,
    n_ctx: int | None = None,
    kv_type: str = "f16",
    catalog: ModelCatalog | None = None,
    info: PoolInfo | None = None,
) -> dict[str, Any]:
    """The fit of catalog model `model_id` on this pool, as `models fit --json` prints it:
    `{"model", "shape", "estimate", "verdict", "pool", "notes", "warnings"}` (`warnings`: a
    context beyond the model's trained one).

    `n_ctx` None: the model's own context length. `catalog` and `info` spare reading them again
    when the caller has them. Raises `rbee.fit.FitError` when the model's files are not there.
    """
    from rbee import fit, hardware
    from rbee.catalog import load_catalog
    from rbee.modelfiles.inspect import model_path

    if catalog is None:
        catalog = load_catalog(catalog_path, track_changes=False)
    entry = catalog.get_model(model_id)
    path = model_path(entry, root)
    if not entry.downloaded and not path.exists():
        raise fit.FitError(
            f"model {entry.id!r} is not downloaded ({path} does not exist); "
            f"'rbee-hive models download {entry.id}' first"
        )
    shape = fit.model_shape(path)
    estimate = fit.estimate(shape, n_ctx, kv_type)
    if info is None:
        info = hardware.pool_info(pool_id, models_folder(catalog_path))
    ram = info.ram_available_bytes or info.ram_total_bytes
    verdict = fit.verdict(estimate, info.gpu_budget_bytes, ram)
    return {
        "model": {"id": entry.id, "path": str(path)},
        "shape": shape.to_dict(),
        "estimate": estimate.to_dict(),
        "verdict": verdict.to_dict(),
        "pool": {
            "pool_id": info.pool_id,
            "backend": info.backend,
            "gpu_budget_bytes": info.gpu_budget_bytes,
            "budget_source": info.budget_source,
            "ram_available_bytes": ram,
        },
        "notes": [note for note in (shape.swa_note,) if note],
        "warnings": context_warnings(estimate.n_ctx, shape.n_ctx_train),
    }


def context_warnings(n_ctx: int, n_ctx_train: int | None) -> list[str]:
    """A warning when the context asked for is beyond what the model was trained for."""
    if n_ctx_train is None or n_ctx <= n_ctx_train:
        return []
    return [
        f"a context of {n_ctx} tokens is beyond the model's trained context of {n_ctx_train} "
        "tokens: llama.cpp runs it, but answers degrade past the trained length (unless "
        "RoPE scaling extends it)"
    ]


def pool_report(
    catalog_path: str,
    root: str,
    pool_id: str,
    *,
    hardware: bool = False,
    fit_id: str | None = None,
    n_ctx: int | None = None,
    kv_type: str = "f16",
) -> dict[str, Any]:
    """The catalog, the free disk at the models folder (and the hardware, and the fit of model
    `fit_id`) in one document: what `rbee-hive pool report` prints for `llorch fleet`.

    A missing catalog is reported (`catalog_exists` false, no models), not raised; so is a fit
    that cannot be estimated (`"fit": {"error": ...}`).
    """
    from rbee import __version__
    from rbee.catalog import CatalogNotFoundError, load_catalog
    from rbee.catalog.errors import CatalogError
    from rbee.workflows.disk import free_space

    where = models_folder(catalog_path)
    document: dict[str, Any] = {
        "version": __version__,
        "pool_id": pool_id,
        "catalog_path": os.path.abspath(catalog_path),
        "catalog_exists": True,
        "models_dir": where,
    }
    catalog = None
    try:
        catalog = load_catalog(catalog_path, track_changes=False)
    except CatalogNotFoundError:
        document["catalog_exists"] = False
    if catalog is not None:
        document["pool_id"] = catalog.pool_id
        document["models"] = [entry.to_dict() for entry in catalog.models]
    else:
        document["models"] = []
    measured, free = free_space(where)
    document["free_bytes"] = free
    document["free_at"] = measured
    info = None
    if hardware or fit_id:
        from rbee.hardware import pool_info

        info = pool_info(pool_id, where)
        document["hardware"] = info.to_dict()
    if fit_id:
        try:
            if catalog is None:
                raise CatalogError(f"no catalog at {catalog_path}")
            document["fit"] = fit_model(
                catalog_path,
                root,
                pool_id,
                fit_id,
                n_ctx=n_ctx,
                kv_type=kv_type,
                catalog=catalog,
                info=info,
            )
        except CatalogError as exc:
            document["fit"] = {"error": str(exc)}
    return document


__all__ = ["context_warnings", "fit_model", "models_folder", "pool_report"]
