#!/usr/bin/python3
"""Top views of a lattice on the true triangular geometry (shared by figures.py and
particles.py): a column (x, y) is drawn at x + y/2, y·√3/2, as the hexagon of the triangular
lattice's Wigner-Seitz cell for small windows, or as the sheared pixel of an image for whole
large boxes (where a hexagon per column would cost seconds per panel and show nothing more)."""
import math

import numpy as np
from matplotlib.collections import PolyCollection
from matplotlib.transforms import Affine2D

STATE_NAMES = ("solution", "core", "shell")
STATE_COLOURS = ("#eeeeee", "#e6550d", "#3182bd")
HEXAGONS_AT_MOST = 6000  # columns in a window drawn as hexagons; more: a sheared image


def hexagon():
    """Vertices of the Wigner-Seitz cell of a unit triangular lattice (flat sides facing the six
    neighbours), so a compact particle shows hexagonal facets."""
    angles = np.radians(30 + 60 * np.arange(6))
    return np.stack([np.cos(angles), np.sin(angles)], axis=1) / math.sqrt(3)


def plot_coordinates(shape):
    """Cartesian centres of the (y, x) columns: axial coordinates sheared by 60 degrees."""
    y, x = np.indices(shape)
    return x + y / 2.0, y * math.sqrt(3) / 2.0


def cartesian(x, y):
    """Cartesian position of axial (x, y) (numbers or arrays)."""
    return np.asarray(x) + np.asarray(y) / 2.0, np.asarray(y) * math.sqrt(3) / 2.0


def view_box(views, margin=2.5):
    """A common window around every non-solution column of all panels, so growth shows as
    growth and not as a change of scale."""
    px, py = plot_coordinates(views[0].shape)
    occupied = np.any([v > 0 for v in views], axis=0)
    if not occupied.any():
        occupied[:] = True
    return (px[occupied].min() - margin, px[occupied].max() + margin,
            py[occupied].min() - margin, py[occupied].max() + margin)


def whole_box(shape):
    """The window of the whole (sheared) box."""
    ly, lx = shape
    return (-0.5, lx - 0.5 + (ly - 1) / 2.0, -0.5, (ly - 0.5) * math.sqrt(3) / 2.0)


def _colours(view):
    rgb = np.array([[int(c[i:i + 2], 16) / 255.0 for i in (1, 3, 5)] for c in STATE_COLOURS])
    return rgb[view]


def draw_view(ax, view, box):
    px, py = plot_coordinates(view.shape)
    x0, x1, y0, y1 = box
    inside = (px > x0 - 1) & (px < x1 + 1) & (py > y0 - 1) & (py < y1 + 1)
    if inside.sum() <= HEXAGONS_AT_MOST:
        centres = np.stack([px[inside], py[inside]], axis=1)
        cells = centres[:, None, :] + hexagon()[None, :, :]
        colours = np.array(STATE_COLOURS)[view[inside]]
        ax.add_collection(PolyCollection(cells, facecolors=colours, edgecolors="white",
                                         linewidths=0.3))
    else:
        # Pixel (x, y) of the image at (x + y/2, y√3/2): the same shear as the columns.
        shear = Affine2D(np.array([[1.0, 0.5, 0.0], [0.0, math.sqrt(3) / 2, 0.0],
                                   [0.0, 0.0, 1.0]]))
        image = ax.imshow(_colours(view), origin="lower", interpolation="nearest")
        image.set_transform(shear + ax.transData)
    ax.set_xlim(x0, x1)
    ax.set_ylim(y0, y1)
    ax.set_aspect("equal")
    ax.set_xticks([])
    ax.set_yticks([])
