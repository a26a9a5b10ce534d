"""Geographic constants shared by the SQL distance filter and the NumPy scoring (pure Python, no Django)."""

import math

EARTH_RADIUS_KM = 6371.0088  # mean Earth radius (IUGG)
KM_PER_DEGREE_LATITUDE = math.pi * EARTH_RADIUS_KM / 180
