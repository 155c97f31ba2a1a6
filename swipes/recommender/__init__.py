"""The recommender: how swipes become city scores and which photo comes next. Pure NumPy, no Django.

- base: the Scorer interface (state in, state out), stored-state bytes, StaleState, the Policy protocol
- catalogue: PhotoSet, the photos a scorer scores against, and what is derived from it once
- scoring: the original add/subtract arithmetic, ranking and bar lengths
- scorers, embedding_scorers: the scorers, each with a one-sentence description for people
- policies: the global queue and the adaptive policy
- registry: name -> scorer / policy (settings.VIBES_SCORER and VIBES_POLICY resolve through it)

swipes.engine feeds it from the database; nothing in here may import Django (tests/swipes/test_recommender_is_pure).
"""
