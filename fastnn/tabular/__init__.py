"""The tabular workflow: tables in, a trained network with its preprocessing out.

``fastnn.TabularModel`` (fastnn/tabular/model.py) is what ``fastnn train`` builds and saves.
Nothing here imports pandas until a table is read or encoded.
"""
