"""Resolve references to brainviz objects by the public name they are documented under.

brainviz's packages define their names in submodules and re-export them
lazily (``brainviz.scene.export.savefig`` is ``brainviz.scene.savefig``); the
API reference documents each object once, under its public name. Docstrings
naturally refer to the defining module (``:func:`brainviz.scene.export.savefig```)
or, inside it, to a bare name (``:data:`VIEWS``` in ``brainviz.scene.views``,
``:class:`SurfaceLayer``` in ``brainviz.session``). This extension sends such a
reference to the public page when the object is documented there (for a bare
name: the one documented brainviz object of that name); anything else stays a
broken reference (an error with -n -W).
"""


def _candidates(target, module, klass):
    parts = target.split(".")
    if parts[0] == "brainviz" and len(parts) >= 4:
        # brainviz.<package>.<submodule>.<name...> -> brainviz.<package>.<name...>
        yield ".".join(parts[:2] + parts[3:])
    if module and module.startswith("brainviz.") and parts[0] != "brainviz":
        package = ".".join(module.split(".")[:2])
        if klass:
            yield f"{package}.{klass}.{target}"
        yield f"{package}.{target}"
        yield f"brainviz.exceptions.{target}"  # exceptions are named bare everywhere


def _unique_suffix_match(objects, target):
    """The one documented brainviz object whose name ends with ``.target``, if only one does."""
    if target.startswith("brainviz."):
        return None
    found = [name for name in objects if name.startswith("brainviz.")
             and name.endswith("." + target)]
    return found[0] if len(found) == 1 else None


def _resolve(app, env, node, contnode):
    if node.get("refdomain") != "py":
        return None
    domain = env.get_domain("py")
    candidates = list(_candidates(node["reftarget"], node.get("py:module"), node.get("py:class")))
    candidates.append(_unique_suffix_match(domain.objects, node["reftarget"]))
    for target in candidates:
        if target in domain.objects:
            return domain.resolve_xref(env, node["refdoc"], app.builder, node["reftype"],
                                       target, node, contnode)
    return None


def setup(app):
    app.connect("missing-reference", _resolve)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
