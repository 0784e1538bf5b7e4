"""LivePortrait-compatible neural engine: our own implementation of the LivePortrait networks (F, M, W, G
and the stitching / retargeting MLPs) that loads the official checkpoints.

Modules: ``blocks``, ``appearance``, ``motion``, ``warping``, ``generator``, ``retargeting`` (networks);
``layout``, ``checkpoints``, ``synthetic`` (weights); ``composition``, ``pipeline`` (per-frame maths);
``crop``, ``transfer`` (host <-> device copies), ``renderer``, ``engine`` (the engine).
``engine``, ``layout``, ``synthetic`` and ``crop`` import without torch.
"""
