"""What a dependency update changes in the cluster, and what could fail or lose data.

- :mod:`.basetree`: the base commit as a folder of plain files (never a checkout);
- :mod:`.analysis`: affected Applications (model facts of both sides), both renders, the diff;
- :mod:`.objdiff`: object and field diff without the noise, secrets masked;
- :mod:`.risks`: upgrade risks, one finding per object and field;
- :mod:`.report`: markdown comment (cut to a limit), HTML page, JSON document;
- :mod:`.gitlab`: the one merge-request note, created then updated.
"""
