"""A 3DIdent-like scene rendered in TensorFlow: one teapot-like object under ten latent factors.

The object is a union of signed-distance primitives (an ellipsoid body, a lid knob, a spout and a
handle), so no rotation maps it onto itself and every rotation is visible: the appendages are of
a second hue (the object's + 0.4), and the body shades brighter towards the spout and paler
towards its front. Each pixel's ray is sphere-traced for a fixed number of steps (vectorised over
the batch and the pixels, one ``tf.while_loop``: XLA-compilable, static shapes), then shaded
Lambertian under a coloured spotlight plus ambient light, over a background of one colour.
Silhouettes are anti-aliased from the closest approach of each ray to the surface, so the image
is a continuous function of the factors.

Factors (each in [-1, 1], the order of 3DIdent's ``raw_latents.npy``): object position x, y, z;
rotation alpha, beta, gamma (about x, y, z; each angle ``factor * pi/2``, so the map to SO(3) is
one-to-one); spotlight angle (on an arc above the object, ``factor * pi/2`` from the top); object
hue; spotlight hue; background hue (hues ``(factor + 1) * 0.45`` of the colour circle, so -1 and
1 differ).
"""

from __future__ import annotations

import math

import tensorflow as tf

FACTOR_NAMES = (
    "position_x",
    "position_y",
    "position_z",
    "rotation_alpha",
    "rotation_beta",
    "rotation_gamma",
    "spotlight_angle",
    "object_hue",
    "spotlight_hue",
    "background_hue",
)
NUM_FACTORS = len(FACTOR_NAMES)

# Version of the scene below: part of a saved source's checksum, so a run directory written by
# another scene is never scored with this one. Bump it whenever a rendered pixel changes.
SCENE_VERSION = 3

# Camera on the +z axis looking at the origin; the frame spans +-FRAME_HALF_WIDTH at z = 0.
_CAMERA_Z = 6.0
_FRAME_HALF_WIDTH = 1.25
_POSITION_RANGE = (0.5, 0.5, 1.0)  # factor 1 moves the object this far along x, y, z
_BOUND_RADIUS = 1.15  # a sphere around the object (object space): marching starts on it
_AMBIENT = 0.25
_SPOT_DISTANCE = 5.0
_SPOT_COS_INNER, _SPOT_COS_OUTER = math.cos(math.radians(12)), math.cos(math.radians(35))
_HUE_SPAN = 0.45  # hue = (factor + 1) * 0.45: 0 .. 0.9 of the circle
_APPENDAGE_HUE_SHIFT = 0.4  # the spout, handle and knob: the object's hue + 0.4 of the circle
# The body is brighter towards its spout (object-space +x): a cue to the turn about the vertical
# axis, which an ellipsoid body alone hides (scene 1 had none: rotation_beta was learned to R^2
# 0.37 by a supervised CNN in 2 minutes, 0.89 with it; docs/RESULTS.md).
_BODY_SHADE, _BODY_SHADE_SLOPE = 0.3, 1.5
# The body's front (object-space +z, facing the camera at rotation 0) is paler: a cue to the tip
# about the spout-handle axis (rotation_alpha), under which the body's silhouette is symmetric
# (scene 2: a supervised CNN read alpha to R^2 0.59 in 2 minutes; docs/RESULTS.md).
_FRONT_PALE, _FRONT_SLOPE = 0.5, 3.0


# Sphere-tracing steps per ray: the cost is static, so fewer steps are a faster renderer. 24
# steps differ from 96 in 0.98% of 32x32 channel values by more than 2/255 (32 steps: 0.53%),
# at the silhouettes' grazing rays, and take 14-24% less time (three calls); the renderer is the
# larger part of a 3dident train step on a CPU (`python tools/image_step_breakdown.py`;
# docs/RESULTS.md).
DEFAULT_MARCH_STEPS = 24


def hsv_to_rgb(hue, saturation, value):
    """RGB in [0, 1] of hue in [0, 1) (any shape), scalar saturation and value: ``[..., 3]``."""
    channels = []
    for n in (5.0, 3.0, 1.0):
        k = tf.math.floormod(n + 6.0 * hue, 6.0)
        channels.append(value - value * saturation * tf.clip_by_value(tf.minimum(k, 4.0 - k), 0, 1))
    return tf.stack(channels, axis=-1)


def _rotation(alpha, beta, gamma):
    """``R = Rz(gamma) Ry(beta) Rx(alpha)`` for ``[batch]`` angles: ``[batch, 3, 3]``."""
    ca, sa, cb, sb, cg, sg = (f(a) for a in (alpha, beta, gamma) for f in (tf.cos, tf.sin))
    one, zero = tf.ones_like(alpha), tf.zeros_like(alpha)
    rx = tf.stack([one, zero, zero, zero, ca, -sa, zero, sa, ca], -1)
    ry = tf.stack([cb, zero, sb, zero, one, zero, -sb, zero, cb], -1)
    rz = tf.stack([cg, -sg, zero, sg, cg, zero, zero, zero, one], -1)
    rx, ry, rz = (tf.reshape(r, [-1, 3, 3]) for r in (rx, ry, rz))
    return rz @ ry @ rx


def _smooth_min(a, b, k):
    """Polynomial smooth minimum: blends two surfaces over a width ``k`` (no crease)."""
    h = tf.clip_by_value(0.5 + 0.5 * (b - a) / k, 0.0, 1.0)
    return b + (a - b) * h - k * h * (1.0 - h)


def _segment(x, y, z, a, b):
    """Distance to the segment from ``a`` to ``b`` (3-tuples)."""
    bax, bay, baz = b[0] - a[0], b[1] - a[1], b[2] - a[2]
    pax, pay, paz = x - a[0], y - a[1], z - a[2]
    h = (pax * bax + pay * bay + paz * baz) / (bax * bax + bay * bay + baz * baz)
    h = tf.clip_by_value(h, 0.0, 1.0)
    return tf.sqrt(tf.square(pax - h * bax) + tf.square(pay - h * bay) + tf.square(paz - h * baz))


def _parts(x, y, z):
    """Signed distances (object space) to the body and to the appendages (spout, handle and
    knob together)."""
    # Ellipsoid body (radii 0.6, 0.42, 0.6): the usual first-order distance bound.
    k0 = tf.sqrt(tf.square(x / 0.6) + tf.square(y / 0.42) + tf.square(z / 0.6))
    k1 = tf.sqrt(tf.square(x / 0.36) + tf.square(y / 0.1764) + tf.square(z / 0.36))
    body = k0 * (k0 - 1.0) / tf.maximum(k1, 1e-6)
    # The spout and the knob lean towards +z and -z: the object has no mirror plane, so a
    # rotation and its mirror image (e.g. alpha and -alpha) give different silhouettes.
    knob = tf.sqrt(tf.square(x) + tf.square(y - 0.45) + tf.square(z + 0.12)) - 0.11
    # Spout: a rising tube that narrows towards its tip.
    spout_radius = 0.1 - 0.04 * tf.sigmoid(8.0 * (x - 0.7))
    spout = _segment(x, y, z, (0.4, -0.08, 0.0), (0.88, 0.3, 0.28)) - spout_radius
    # Handle: a torus in the xy-plane around (-0.62, 0.02); its inner half is inside the body.
    ring = tf.sqrt(tf.square(x + 0.62) + tf.square(y - 0.02)) - 0.26
    handle = tf.sqrt(tf.square(ring) + tf.square(z)) - 0.065
    appendages = _smooth_min(_smooth_min(spout, handle, 0.02), knob, 0.02)
    return body, spout, handle, knob, appendages


def object_sdf(x, y, z):
    """Signed distance (object space) to the teapot: body, knob on top (+y), spout towards +x
    (rising), handle towards -x. Arguments are the coordinates, any equal shapes."""
    body, spout, handle, knob, _ = _parts(x, y, z)
    d = _smooth_min(body, spout, 0.08)
    d = _smooth_min(d, handle, 0.04)
    return _smooth_min(d, knob, 0.05)


def _appendage_weight(x, y, z):
    """1 on the spout, handle and knob, 0 on the body, blended over the joints: the appendages
    are of another hue, so their layout (the rotation) shows even in small images."""
    body, _, _, _, appendages = _parts(x, y, z)
    return tf.clip_by_value(0.5 + (body - appendages) / 0.06, 0.0, 1.0)


def _normal(x, y, z):
    """Unit surface normal by the four-point tetrahedron difference of the SDF."""
    e = 1e-3
    taps = ((1.0, -1.0, -1.0), (-1.0, -1.0, 1.0), (-1.0, 1.0, -1.0), (1.0, 1.0, 1.0))
    nx = ny = nz = 0.0
    for sx, sy, sz in taps:
        d = object_sdf(x + sx * e, y + sy * e, z + sz * e)
        nx, ny, nz = nx + sx * d, ny + sy * d, nz + sz * d
    inv = tf.math.rsqrt(tf.maximum(nx * nx + ny * ny + nz * nz, 1e-20))
    return nx * inv, ny * inv, nz * inv


def _camera_rays(image_size: int):
    """Unit directions of the pixel rays (row-major, top row first): three ``[1, P]`` tensors,
    and the angular half-width of a pixel."""
    half = _FRAME_HALF_WIDTH / _CAMERA_Z
    coords = (tf.range(image_size, dtype=tf.float32) + 0.5) / image_size * 2.0 - 1.0
    u = tf.tile(coords[None, :], [image_size, 1]) * half
    v = tf.tile(-coords[:, None], [1, image_size]) * half
    norm = tf.sqrt(u * u + v * v + 1.0)
    dx, dy, dz = (tf.reshape(c, [1, -1]) for c in (u / norm, v / norm, -1.0 / norm))
    return dx, dy, dz, half / image_size


def render(factors, image_size: int = 64, march_steps: int = DEFAULT_MARCH_STEPS):
    """Images of a batch of factor vectors.

    Args:
        factors: float32 ``[batch, 10]`` in [-1, 1] (order: :data:`FACTOR_NAMES`).
        image_size: height and width in pixels.
        march_steps: sphere-tracing steps per ray (fixed: the cost is static).

    Returns:
        float32 ``[batch, image_size, image_size, 3]`` in [0, 1].
    """
    f = tf.convert_to_tensor(factors, tf.float32)
    batch = tf.shape(f)[0]
    cx, cy, cz = (f[:, i : i + 1] * _POSITION_RANGE[i] for i in range(3))
    rot = _rotation(*(f[:, i] * (math.pi / 2) for i in (3, 4, 5)))  # object -> world
    r = [[rot[:, i, j : j + 1] for j in range(3)] for i in range(3)]

    def to_object(vx, vy, vz):  # R^T v
        return tuple(r[0][j] * vx + r[1][j] * vy + r[2][j] * vz for j in range(3))

    # Rays in object space: the SDF is evaluated unrotated, one rotation per ray.
    dx, dy, dz, pixel_angle = _camera_rays(image_size)
    ox, oy, oz = to_object(-cx, -cy, _CAMERA_Z - cz)  # [batch, 1]
    dx, dy, dz = to_object(dx, dy, dz)  # [batch, P]
    ox, oy, oz = (tf.broadcast_to(o, tf.shape(dx)) for o in (ox, oy, oz))
    # Enter the bounding sphere: |o + t d| = R (|d| = 1); rays that miss it stay background.
    b = ox * dx + oy * dy + oz * dz
    disc = b * b - (ox * ox + oy * oy + oz * oz - _BOUND_RADIUS**2)
    inside = disc > 0.0
    root = tf.sqrt(tf.maximum(disc, 0.0))
    t_near = tf.maximum(-b - root, 0.0)
    t_far = -b + root

    def march(i, t, closest):
        d = object_sdf(ox + t * dx, oy + t * dy, oz + t * dz)
        closest = tf.minimum(closest, d / t)  # angular closeness: coverage at the silhouette
        return i + 1, tf.minimum(t + d, t_far), closest

    start = (tf.constant(0), t_near, tf.fill(tf.shape(t_near), 1e9))
    _, t, closest = tf.while_loop(
        lambda i, t, c: i < march_steps, march, start, maximum_iterations=march_steps
    )
    coverage = tf.where(inside, tf.clip_by_value(1.0 - closest / pixel_angle, 0.0, 1.0), 0.0)

    px, py, pz = ox + t * dx, oy + t * dy, oz + t * dz
    nx, ny, nz = _normal(px, py, pz)
    # The spotlight on an arc above the scene, aimed at the scene's centre (world space); light
    # position and axis are taken to object space, where the normals are.
    phi = f[:, 6:7] * (math.pi / 2)
    spot_world = (_SPOT_DISTANCE * tf.sin(phi), _SPOT_DISTANCE * tf.cos(phi), 2.0 + 0.0 * phi)
    sx, sy, sz = to_object(spot_world[0] - cx, spot_world[1] - cy, spot_world[2] - cz)
    ax, ay, az = to_object(*(-s for s in spot_world))
    a_inv = tf.math.rsqrt(ax * ax + ay * ay + az * az)
    ax, ay, az = ax * a_inv, ay * a_inv, az * a_inv
    lx, ly, lz = sx - px, sy - py, sz - pz
    l_inv = tf.math.rsqrt(lx * lx + ly * ly + lz * lz)
    lx, ly, lz = lx * l_inv, ly * l_inv, lz * l_inv
    lambert = tf.nn.relu(nx * lx + ny * ly + nz * lz)
    cone = -(lx * ax + ly * ay + lz * az)  # cos of the angle off the spot's axis
    spot = tf.clip_by_value((cone - _SPOT_COS_OUTER) / (_SPOT_COS_INNER - _SPOT_COS_OUTER), 0, 1)
    spot = spot * spot * (3.0 - 2.0 * spot)  # smoothstep edge of the cone

    hue = (f[:, 7:8] + 1.0) * _HUE_SPAN
    body = hsv_to_rgb(hue, 0.8, 0.95)  # [batch, 1, 3]
    body = body * (1.0 - _BODY_SHADE + _BODY_SHADE * tf.tanh(_BODY_SHADE_SLOPE * px))[..., None]
    pale = _FRONT_PALE * 0.5 * (1.0 + tf.tanh(_FRONT_SLOPE * pz))[..., None]
    body = body + (1.0 - body) * pale
    appendages = hsv_to_rgb(tf.math.floormod(hue + _APPENDAGE_HUE_SHIFT, 1.0), 0.8, 0.95)
    weight = _appendage_weight(px, py, pz)[..., None]
    albedo = body * (1.0 - weight) + appendages * weight
    light = hsv_to_rgb((f[:, 8:9] + 1.0) * _HUE_SPAN, 0.75, 1.0)
    background = hsv_to_rgb((f[:, 9:10] + 1.0) * _HUE_SPAN, 0.6, 0.5)
    direct = (lambert * spot)[..., None] * light
    shaded = albedo * (_AMBIENT + (1.0 - _AMBIENT) * direct)
    alpha = coverage[..., None]
    image = alpha * shaded + (1.0 - alpha) * background
    return tf.reshape(tf.clip_by_value(image, 0.0, 1.0), [batch, image_size, image_size, 3])


def to_uint8(images):
    """Float images in [0, 1] as uint8 (rounded), e.g. for PNG files."""
    return tf.cast(tf.round(tf.clip_by_value(images, 0.0, 1.0) * 255.0), tf.uint8)
