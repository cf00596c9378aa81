"""The notebook side of jupyterlab-canfar: the ``%canfar`` magic and the Python API (``canfar``), a thin
client of the TypeScript engine (reached through the JupyterLab extension, or the canfar-lab CLI).

Nothing here is imported by the Jupyter server extension: ``import jupyterlab_canfar`` stays cheap.
"""
