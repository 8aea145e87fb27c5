/* view_gl.c - the viewer's window: GLFW for the window and input, OpenGL 3.3 core through libepoxy.
 * Built only when both are found (P3D_HAVE_VIEWER); the camera math is in view_control.c (view.h).
 *
 * The mesh is uploaded once: positions (n_vertices, 3) float32 and colours (n_vertices, 4) uint8
 * (RGB + provenance label, normalised by the attribute fetch) in two vertex buffers, triangles as
 * 32-bit indices in an element buffer. Every frame is drawn into an offscreen framebuffer of the
 * window's size (RGBA8 colour, 32-bit float depth), then blitted to the window, so screenshots read
 * exactly what the window shows, and the screenshot mode draws the same way in a hidden window.
 * GLFW allows one initialisation per process: one p3d_viewer at a time. */
#include <epoxy/gl.h>
#define GLFW_INCLUDE_NONE
#include <GLFW/glfw3.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "io/image_io.h"
#include "view/view.h"

struct p3d_viewer {
    int32_t glfw_ready;
};

/* GLFW reports errors through a callback without a user pointer: the last message is kept here. */
static char g_glfw_error[512];

static void on_glfw_error(int code, const char *desc) {
    snprintf(g_glfw_error, sizeof g_glfw_error, "%s (GLFW error 0x%x)", desc ? desc : "?", (unsigned)code);
}

p3d_status p3d_viewer_init(p3d_viewer **out) {
    *out = NULL;
    g_glfw_error[0] = '\0';
    glfwSetErrorCallback(on_glfw_error);
    if (!glfwInit())
        return p3d_fail(P3D_ERR_UNSUPPORTED, "no display: use photo3d-gpu render for headless output (%s)",
                        g_glfw_error[0] ? g_glfw_error : "GLFW could not start");
    p3d_viewer *v = (p3d_viewer *)calloc(1, sizeof *v);
    if (!v) {
        glfwTerminate();
        return p3d_fail(P3D_ERR_OOM, "view: out of memory");
    }
    v->glfw_ready = 1;
    *out = v;
    return P3D_OK;
}

void p3d_viewer_free(p3d_viewer *v) {
    if (!v) return;
    if (v->glfw_ready) glfwTerminate();
    free(v);
}

/* ---- the GL scene: program, mesh buffers, offscreen framebuffer ---------------------------------- */

/* Vertex colour: the photo's, or with provenance colouring on, the label's colour (1 original, 2 and 3
 * inpainting passes, 4 next to an occlusion edge, 5 extrapolated border; others white) shaded by the
 * photo's luminance. clip.w is the view depth, handed on for the depth test. */
static const char *const k_vertex_shader =
    "#version 330 core\n"
    "layout(location = 0) in vec3 a_pos;\n"
    "layout(location = 1) in vec4 a_rgba;\n"
    "layout(location = 2) in vec2 a_uv;\n"
    "uniform mat4 u_clip;\n"
    "uniform int u_provenance;\n"
    "out vec3 v_color;\n"
    "out vec2 v_uv;\n"
    "out float v_depth;\n"
    "const vec3 k_label[6] = vec3[6](vec3(1.0, 1.0, 1.0), vec3(0.25, 0.85, 0.3), vec3(1.0, 0.55, 0.1),\n"
    "                                vec3(0.95, 0.2, 0.25), vec3(0.75, 0.3, 1.0), vec3(0.2, 0.5, 1.0));\n"
    "void main() {\n"
    "    gl_Position = u_clip * vec4(a_pos, 1.0);\n"
    "    v_depth = gl_Position.w;\n"
    "    vec3 c = a_rgba.rgb;\n"
    "    if (u_provenance != 0) {\n"
    "        int label = int(a_rgba.a * 255.0 + 0.5);\n"
    "        vec3 k = k_label[label >= 1 && label <= 5 ? label : 0];\n"
    "        c = k * (0.35 + 0.65 * dot(c, vec3(0.299, 0.587, 0.114)));\n"
    "    }\n"
    "    v_color = c;\n"
    "    v_uv = a_uv;\n"
    "}\n";

/* Depth = the perspective-correct view depth (1 / the screen-space interpolation of 1 / z, as the
 * offline rasterizer's key) times 0.5 / zfar: in (0, 0.5], below the cleared 1.0 even after rounding,
 * and scaled by a power of two of zfar only, so a 32-bit float buffer keeps float32 resolution. */
static const char *const k_fragment_shader =
    "#version 330 core\n"
    "in vec3 v_color;\n"
    "in vec2 v_uv;\n"
    "in float v_depth;\n"
    "uniform float u_depth_scale;\n"
    "uniform int u_textured;\n"
    "uniform sampler2D u_tex;\n"
    "out vec4 o_color;\n"
    "void main() {\n"
    "    o_color = vec4(u_textured != 0 ? texture(u_tex, v_uv).rgb : v_color, 1.0);\n"
    "    gl_FragDepth = v_depth * u_depth_scale;\n"
    "}\n";

typedef struct gl_scene {
    GLuint prog, vao, vbo_xyz, vbo_rgba, vbo_uv, ebo, tex;
    GLint u_clip, u_provenance, u_depth_scale, u_textured, u_tex;
    GLuint fbo, rb_color, rb_depth;
    int32_t fb_w, fb_h;
    GLsizei n_indices;
    GLint max_rb;
    float bmin[3], bmax[3];
} gl_scene;

static p3d_status gl_check(const char *what) {
    const GLenum e = glGetError();
    if (e != GL_NO_ERROR) return p3d_fail(P3D_ERR_DEVICE, "view: OpenGL error 0x%x %s", (unsigned)e, what);
    return P3D_OK;
}

static p3d_status compile_shader(GLenum kind, const char *src, GLuint *out) {
    const GLuint s = glCreateShader(kind);
    glShaderSource(s, 1, &src, NULL);
    glCompileShader(s);
    GLint ok = 0;
    glGetShaderiv(s, GL_COMPILE_STATUS, &ok);
    if (!ok) {
        char log[1024];
        glGetShaderInfoLog(s, sizeof log, NULL, log);
        glDeleteShader(s);
        return p3d_fail(P3D_ERR_DEVICE, "view: the %s shader does not compile: %s",
                        kind == GL_VERTEX_SHADER ? "vertex" : "fragment", log);
    }
    *out = s;
    return P3D_OK;
}

static p3d_status build_program(gl_scene *s) {
    GLuint vs = 0, fs = 0;
    P3D_TRY(compile_shader(GL_VERTEX_SHADER, k_vertex_shader, &vs));
    p3d_status st = compile_shader(GL_FRAGMENT_SHADER, k_fragment_shader, &fs);
    if (st != P3D_OK) {
        glDeleteShader(vs);
        return st;
    }
    s->prog = glCreateProgram();
    glAttachShader(s->prog, vs);
    glAttachShader(s->prog, fs);
    glLinkProgram(s->prog);
    glDeleteShader(vs);
    glDeleteShader(fs);
    GLint ok = 0;
    glGetProgramiv(s->prog, GL_LINK_STATUS, &ok);
    if (!ok) {
        char log[1024];
        glGetProgramInfoLog(s->prog, sizeof log, NULL, log);
        return p3d_fail(P3D_ERR_DEVICE, "view: the shaders do not link: %s", log);
    }
    s->u_clip = glGetUniformLocation(s->prog, "u_clip");
    s->u_provenance = glGetUniformLocation(s->prog, "u_provenance");
    s->u_depth_scale = glGetUniformLocation(s->prog, "u_depth_scale");
    s->u_textured = glGetUniformLocation(s->prog, "u_textured");
    s->u_tex = glGetUniformLocation(s->prog, "u_tex");
    return P3D_OK;
}

/* Uploads the mesh once. */
static p3d_status upload_mesh(gl_scene *s, const p3d_mesh *m) {
    if (m->n_faces > INT32_MAX / 3)
        return p3d_fail(P3D_ERR_UNSUPPORTED, "view: %lld faces: OpenGL draws at most %d in one call",
                        (long long)m->n_faces, INT32_MAX / 3);
    s->n_indices = (GLsizei)(3 * m->n_faces);
    p3d_mesh_bounds(m, s->bmin, s->bmax);
    glGenVertexArrays(1, &s->vao);
    glBindVertexArray(s->vao);
    glGenBuffers(1, &s->vbo_xyz);
    glBindBuffer(GL_ARRAY_BUFFER, s->vbo_xyz);
    glBufferData(GL_ARRAY_BUFFER, (GLsizeiptr)(m->n_vertices * 3 * (int64_t)sizeof(float)), m->xyz, GL_STATIC_DRAW);
    glVertexAttribPointer(0, 3, GL_FLOAT, GL_FALSE, 0, (const void *)0);
    glEnableVertexAttribArray(0);
    glGenBuffers(1, &s->vbo_rgba);
    glBindBuffer(GL_ARRAY_BUFFER, s->vbo_rgba);
    glBufferData(GL_ARRAY_BUFFER, (GLsizeiptr)(m->n_vertices * 4), m->rgba, GL_STATIC_DRAW);
    glVertexAttribPointer(1, 4, GL_UNSIGNED_BYTE, GL_TRUE, 0, (const void *)0);
    glEnableVertexAttribArray(1);
    if (m->uv) {
        /* The compact mesh's atlas: bilinear, no mipmaps, clamped - the offline renderer's sampler. */
        glGenBuffers(1, &s->vbo_uv);
        glBindBuffer(GL_ARRAY_BUFFER, s->vbo_uv);
        glBufferData(GL_ARRAY_BUFFER, (GLsizeiptr)(m->n_vertices * 2 * (int64_t)sizeof(float)), m->uv, GL_STATIC_DRAW);
        glVertexAttribPointer(2, 2, GL_FLOAT, GL_FALSE, 0, (const void *)0);
        glEnableVertexAttribArray(2);
        glGenTextures(1, &s->tex);
        glBindTexture(GL_TEXTURE_2D, s->tex);
        glPixelStorei(GL_UNPACK_ALIGNMENT, 1);
        glTexImage2D(GL_TEXTURE_2D, 0, GL_RGB8, m->tex_w, m->tex_h, 0, GL_RGB, GL_UNSIGNED_BYTE, m->tex);
        glTexParameteri(GL_TEXTURE_2D, GL_TEXTURE_MIN_FILTER, GL_LINEAR);
        glTexParameteri(GL_TEXTURE_2D, GL_TEXTURE_MAG_FILTER, GL_LINEAR);
        glTexParameteri(GL_TEXTURE_2D, GL_TEXTURE_WRAP_S, GL_CLAMP_TO_EDGE);
        glTexParameteri(GL_TEXTURE_2D, GL_TEXTURE_WRAP_T, GL_CLAMP_TO_EDGE);
    }
    glGenBuffers(1, &s->ebo);
    glBindBuffer(GL_ELEMENT_ARRAY_BUFFER, s->ebo);
    glBufferData(GL_ELEMENT_ARRAY_BUFFER, (GLsizeiptr)(m->n_faces * 3 * (int64_t)sizeof(int32_t)), m->faces,
                 GL_STATIC_DRAW);
    glBindVertexArray(0);
    return gl_check("uploading the mesh (out of GPU memory?)");
}

/* The offscreen framebuffer at w x h (re-made when the size changes). */
static p3d_status ensure_fbo(gl_scene *s, int32_t w, int32_t h) {
    if (s->fbo && s->fb_w == w && s->fb_h == h) return P3D_OK;
    if (w > s->max_rb || h > s->max_rb)
        return p3d_fail(P3D_ERR_UNSUPPORTED, "view: frame %dx%d: this OpenGL draws at most %dx%d", (int)w, (int)h,
                        (int)s->max_rb, (int)s->max_rb);
    if (!s->fbo) {
        glGenFramebuffers(1, &s->fbo);
        glGenRenderbuffers(1, &s->rb_color);
        glGenRenderbuffers(1, &s->rb_depth);
    }
    glBindRenderbuffer(GL_RENDERBUFFER, s->rb_color);
    glRenderbufferStorage(GL_RENDERBUFFER, GL_RGBA8, w, h);
    glBindRenderbuffer(GL_RENDERBUFFER, s->rb_depth);
    glRenderbufferStorage(GL_RENDERBUFFER, GL_DEPTH_COMPONENT32F, w, h);
    glBindFramebuffer(GL_FRAMEBUFFER, s->fbo);
    glFramebufferRenderbuffer(GL_FRAMEBUFFER, GL_COLOR_ATTACHMENT0, GL_RENDERBUFFER, s->rb_color);
    glFramebufferRenderbuffer(GL_FRAMEBUFFER, GL_DEPTH_ATTACHMENT, GL_RENDERBUFFER, s->rb_depth);
    const GLenum fs = glCheckFramebufferStatus(GL_FRAMEBUFFER);
    if (fs != GL_FRAMEBUFFER_COMPLETE)
        return p3d_fail(P3D_ERR_DEVICE, "view: offscreen framebuffer %dx%d incomplete (0x%x)", (int)w, (int)h,
                        (unsigned)fs);
    s->fb_w = w;
    s->fb_h = h;
    return gl_check("making the offscreen framebuffer");
}

static p3d_status scene_init(gl_scene *s, const p3d_mesh *m) {
    memset(s, 0, sizeof *s);
    glGetIntegerv(GL_MAX_RENDERBUFFER_SIZE, &s->max_rb);
    P3D_TRY(build_program(s));
    P3D_TRY(upload_mesh(s, m));
    /* Exact colours: no dithering on the way to 8 bits, no multisampling (the offline --ssaa 1). */
    glDisable(GL_DITHER);
    glDisable(GL_MULTISAMPLE);
    glDisable(GL_CULL_FACE);
    return gl_check("setting up");
}

static void scene_free(gl_scene *s) {
    if (s->fbo) glDeleteFramebuffers(1, &s->fbo);
    if (s->rb_color) glDeleteRenderbuffers(1, &s->rb_color);
    if (s->rb_depth) glDeleteRenderbuffers(1, &s->rb_depth);
    if (s->ebo) glDeleteBuffers(1, &s->ebo);
    if (s->vbo_rgba) glDeleteBuffers(1, &s->vbo_rgba);
    if (s->vbo_uv) glDeleteBuffers(1, &s->vbo_uv);
    if (s->tex) glDeleteTextures(1, &s->tex);
    if (s->vbo_xyz) glDeleteBuffers(1, &s->vbo_xyz);
    if (s->vao) glDeleteVertexArrays(1, &s->vao);
    if (s->prog) glDeleteProgram(s->prog);
    memset(s, 0, sizeof *s);
}

/* Draws pose p into the offscreen framebuffer (w x h): the offline renderer's view and depth range. */
static p3d_status draw(gl_scene *s, const p3d_mesh *m, const p3d_viewer_opts *o, const p3d_pose *p, int32_t w,
                       int32_t h, int32_t wireframe, int32_t provenance) {
    P3D_TRY(ensure_fbo(s, w, h));
    const p3d_view view = p3d_view_of_pose(m, p, w, h, o->crop);
    float znear = 0, zfar = 0, clip[16];
    p3d_view_depth_range(&view, s->bmin, s->bmax, &znear, &zfar);
    p3d_view_clip_matrix(&view, w, h, znear, zfar, clip);
    glBindFramebuffer(GL_FRAMEBUFFER, s->fbo);
    glViewport(0, 0, w, h);
    glClearColor(128.0f / 255.0f, 128.0f / 255.0f, 128.0f / 255.0f, 1.0f);
    glClearDepth(1.0);
    glClear(GL_COLOR_BUFFER_BIT | GL_DEPTH_BUFFER_BIT);
    glEnable(GL_DEPTH_TEST);
    /* GL_LESS: of two equally deep fragments the first drawn (lower face index) stays, as offline. */
    glDepthFunc(GL_LESS);
    glPolygonMode(GL_FRONT_AND_BACK, wireframe ? GL_LINE : GL_FILL);
    glUseProgram(s->prog);
    glUniformMatrix4fv(s->u_clip, 1, GL_FALSE, clip);
    glUniform1i(s->u_provenance, provenance);
    glUniform1i(s->u_textured, s->tex && !provenance);
    glUniform1i(s->u_tex, 0);
    glActiveTexture(GL_TEXTURE0);
    glBindTexture(GL_TEXTURE_2D, s->tex);
    glUniform1f(s->u_depth_scale, 0.5f / zfar);
    glBindVertexArray(s->vao);
    glDrawElements(GL_TRIANGLES, s->n_indices, GL_UNSIGNED_INT, (const void *)0);
    glBindVertexArray(0);
    return gl_check("drawing");
}

/* The offscreen frame as a PNG (top row first, RGB). */
static p3d_status save_frame(gl_scene *s, const char *path) {
    const size_t row = 3 * (size_t)s->fb_w;
    uint8_t *px = (uint8_t *)malloc(row * (size_t)s->fb_h), *tmp = (uint8_t *)malloc(row);
    if (!px || !tmp) {
        free(px);
        free(tmp);
        return p3d_fail(P3D_ERR_OOM, "view: out of memory for a %dx%d screenshot", (int)s->fb_w, (int)s->fb_h);
    }
    glBindFramebuffer(GL_READ_FRAMEBUFFER, s->fbo);
    glPixelStorei(GL_PACK_ALIGNMENT, 1);
    glReadPixels(0, 0, s->fb_w, s->fb_h, GL_RGB, GL_UNSIGNED_BYTE, px);
    p3d_status st = gl_check("reading the frame back");
    for (int32_t y = 0; y < s->fb_h / 2; y++) { /* OpenGL rows run bottom-up */
        uint8_t *a = px + row * (size_t)y, *b = px + row * (size_t)(s->fb_h - 1 - y);
        memcpy(tmp, a, row);
        memcpy(a, b, row);
        memcpy(b, tmp, row);
    }
    if (st == P3D_OK) st = p3d_png_write_u8(path, s->fb_w, s->fb_h, 3, px);
    free(px);
    free(tmp);
    return st;
}

/* A window with an OpenGL 3.3 core context, current on this thread. */
static p3d_status open_window(int32_t w, int32_t h, int32_t visible, const char *title, GLFWwindow **out) {
    glfwDefaultWindowHints();
    glfwWindowHint(GLFW_CONTEXT_VERSION_MAJOR, 3);
    glfwWindowHint(GLFW_CONTEXT_VERSION_MINOR, 3);
    glfwWindowHint(GLFW_OPENGL_PROFILE, GLFW_OPENGL_CORE_PROFILE);
    glfwWindowHint(GLFW_OPENGL_FORWARD_COMPAT, GLFW_TRUE);
    glfwWindowHint(GLFW_DEPTH_BITS, 24);
    glfwWindowHint(GLFW_SAMPLES, 0);
    glfwWindowHint(GLFW_VISIBLE, visible ? GLFW_TRUE : GLFW_FALSE);
    g_glfw_error[0] = '\0';
    *out = glfwCreateWindow(w, h, title, NULL, NULL);
    if (!*out)
        return p3d_fail(P3D_ERR_UNSUPPORTED,
                        "view: no OpenGL 3.3 core context (%s); with Mesa, LIBGL_ALWAYS_SOFTWARE=1 gives one in "
                        "software; photo3d-gpu render needs no OpenGL",
                        g_glfw_error[0] ? g_glfw_error : "GLFW could not create the window");
    glfwMakeContextCurrent(*out);
    return P3D_OK;
}

p3d_status p3d_viewer_screenshot(p3d_viewer *v, const p3d_mesh *m, const p3d_viewer_opts *opts, const p3d_pose *p,
                                 const char *png_path) {
    (void)v;
    if (opts->width < 1 || opts->height < 1 || opts->width > 16384 || opts->height > 16384)
        return p3d_fail(P3D_ERR_INVALID_ARG, "view: screenshot size %dx%d: need 1..16384 per side", (int)opts->width,
                        (int)opts->height);
    P3D_TRY(p3d_render_check_mesh(m));
    GLFWwindow *win = NULL;
    P3D_TRY(open_window(16, 16, 0, "photo3d-gpu view", &win));
    gl_scene s;
    p3d_status st = scene_init(&s, m);
    if (st == P3D_OK) st = draw(&s, m, opts, p, opts->width, opts->height, opts->wireframe, opts->provenance);
    if (st == P3D_OK) st = save_frame(&s, png_path);
    scene_free(&s);
    glfwDestroyWindow(win);
    return st;
}

/* ---- the interactive window ------------------------------------------------------------------------ */

typedef struct view_app {
    const p3d_mesh *mesh;
    const p3d_viewer_opts *opts;
    p3d_view_control ctl;
    int32_t wireframe, provenance, want_shot, dragging;
    double last_x, last_y;
    p3d_status st; /* first failure inside a callback: ends the loop */
} view_app;

static void on_key(GLFWwindow *win, int key, int scancode, int action, int mods) {
    (void)scancode;
    (void)mods;
    view_app *a = (view_app *)glfwGetWindowUserPointer(win);
    if (action != GLFW_PRESS) return;
    if (key >= GLFW_KEY_1 && key <= GLFW_KEY_4) {
        const p3d_status st = p3d_view_control_play(&a->ctl, key - GLFW_KEY_1, a->opts->frames, glfwGetTime());
        if (st != P3D_OK) a->st = st;
    } else if (key >= GLFW_KEY_KP_1 && key <= GLFW_KEY_KP_4) {
        const p3d_status st = p3d_view_control_play(&a->ctl, key - GLFW_KEY_KP_1, a->opts->frames, glfwGetTime());
        if (st != P3D_OK) a->st = st;
    } else if (key == GLFW_KEY_R) {
        p3d_view_control_reset(&a->ctl);
    } else if (key == GLFW_KEY_W) {
        a->wireframe = !a->wireframe;
    } else if (key == GLFW_KEY_P) {
        a->provenance = !a->provenance;
    } else if (key == GLFW_KEY_S) {
        a->want_shot = 1;
    } else if (key == GLFW_KEY_Q || key == GLFW_KEY_ESCAPE) {
        glfwSetWindowShouldClose(win, GLFW_TRUE);
    }
}

static void on_cursor(GLFWwindow *win, double x, double y) {
    view_app *a = (view_app *)glfwGetWindowUserPointer(win);
    if (a->dragging) {
        p3d_view_control_drag(&a->ctl, x - a->last_x, y - a->last_y);
    } else {
        int w = 1, h = 1;
        glfwGetWindowSize(win, &w, &h);
        p3d_view_control_cursor(&a->ctl, (float)(2.0 * x / (w > 0 ? w : 1) - 1.0), (float)(2.0 * y / (h > 0 ? h : 1) - 1.0));
    }
    a->last_x = x;
    a->last_y = y;
}

static void on_button(GLFWwindow *win, int button, int action, int mods) {
    (void)mods;
    view_app *a = (view_app *)glfwGetWindowUserPointer(win);
    if (button != GLFW_MOUSE_BUTTON_LEFT) return;
    a->dragging = action == GLFW_PRESS;
    glfwGetCursorPos(win, &a->last_x, &a->last_y);
}

static void on_enter(GLFWwindow *win, int entered) {
    view_app *a = (view_app *)glfwGetWindowUserPointer(win);
    if (!entered && !a->dragging) p3d_view_control_cursor(&a->ctl, 0.0f, 0.0f); /* the tilt eases back */
}

static void on_scroll(GLFWwindow *win, double dx, double dy) {
    (void)dx;
    view_app *a = (view_app *)glfwGetWindowUserPointer(win);
    p3d_view_control_wheel(&a->ctl, dy);
}

/* NAME_view_<n>.png with the first n not taken in the current directory. */
static p3d_status take_screenshot(gl_scene *s, const char *name) {
    char path[1100];
    for (int32_t n = 0; n < 100000; n++) {
        snprintf(path, sizeof path, "%s_view_%d.png", name, (int)n);
        if (access(path, F_OK) != 0) {
            P3D_TRY(save_frame(s, path));
            printf("%s: %dx%d\n", path, (int)s->fb_w, (int)s->fb_h);
            fflush(stdout);
            return P3D_OK;
        }
    }
    return p3d_fail(P3D_ERR_IO, "view: %s_view_0.png .. _99999.png all exist", name);
}

/* First window size: the requested one, else the mesh's image size, shrunk to 90% of the screen. */
static void window_size(const p3d_mesh *m, const p3d_viewer_opts *o, int32_t *w, int32_t *h) {
    double ww = o->width > 0 ? o->width : m->width, wh = o->height > 0 ? o->height : m->height;
    const GLFWvidmode *mode = glfwGetPrimaryMonitor() ? glfwGetVideoMode(glfwGetPrimaryMonitor()) : NULL;
    if (mode && mode->width > 0 && mode->height > 0) {
        const double k = fmin(1.0, fmin(0.9 * mode->width / ww, 0.9 * mode->height / wh));
        ww *= k;
        wh *= k;
    }
    *w = ww >= 16 ? (int32_t)ww : 16;
    *h = wh >= 16 ? (int32_t)wh : 16;
}

static p3d_status run_loop(GLFWwindow *win, gl_scene *s, view_app *a) {
    double t_prev = glfwGetTime(), t_title = t_prev;
    int32_t frames = 0;
    while (!glfwWindowShouldClose(win) && a->st == P3D_OK) {
        const double now = glfwGetTime();
        p3d_view_control_step(&a->ctl, now - t_prev, now);
        t_prev = now;
        p3d_pose pose;
        p3d_view_control_pose(&a->ctl, now, &pose);
        int fw = 0, fh = 0;
        glfwGetFramebufferSize(win, &fw, &fh);
        if (fw > 0 && fh > 0) { /* 0 x 0 while minimised */
            P3D_TRY(draw(s, a->mesh, a->opts, &pose, fw, fh, a->wireframe, a->provenance));
            glBindFramebuffer(GL_READ_FRAMEBUFFER, s->fbo);
            glBindFramebuffer(GL_DRAW_FRAMEBUFFER, 0);
            glBlitFramebuffer(0, 0, fw, fh, 0, 0, fw, fh, GL_COLOR_BUFFER_BIT, GL_NEAREST);
            P3D_TRY(gl_check("showing the frame"));
            if (a->want_shot) P3D_TRY(take_screenshot(s, a->opts->name));
            a->want_shot = 0;
        }
        glfwSwapBuffers(win); /* waits for the display's refresh (swap interval 1) */
        glfwPollEvents();
        frames++;
        if (now - t_title >= 1.0) {
            char title[600];
            snprintf(title, sizeof title, "photo3d-gpu view: %s - %.0f fps%s%s%s", a->opts->name,
                     frames / (now - t_title), a->ctl.playing >= 0 ? " - playing " : "",
                     a->ctl.playing >= 0 ? p3d_view_presets[a->ctl.playing] : "",
                     a->provenance ? " - provenance colours" : "");
            glfwSetWindowTitle(win, title);
            t_title = now;
            frames = 0;
        }
    }
    return a->st;
}

p3d_status p3d_viewer_run(p3d_viewer *v, const p3d_mesh *m, const p3d_viewer_opts *opts) {
    (void)v;
    P3D_TRY(p3d_render_check_mesh(m));
    int32_t w = 0, h = 0;
    window_size(m, opts, &w, &h);
    char title[600];
    snprintf(title, sizeof title, "photo3d-gpu view: %s", opts->name);
    GLFWwindow *win = NULL;
    P3D_TRY(open_window(w, h, 1, title, &win));
    glfwSwapInterval(1);
    view_app a;
    memset(&a, 0, sizeof a);
    a.mesh = m;
    a.opts = opts;
    a.st = P3D_OK;
    a.wireframe = opts->wireframe;
    a.provenance = opts->provenance;
    p3d_view_control_init(&a.ctl, p3d_mesh_center_depth(m));
    glfwSetWindowUserPointer(win, &a);
    glfwSetKeyCallback(win, on_key);
    glfwSetCursorPosCallback(win, on_cursor);
    glfwSetMouseButtonCallback(win, on_button);
    glfwSetCursorEnterCallback(win, on_enter);
    glfwSetScrollCallback(win, on_scroll);
    gl_scene s;
    p3d_status st = scene_init(&s, m);
    if (st == P3D_OK) st = run_loop(win, &s, &a);
    p3d_view_control_free(&a.ctl);
    scene_free(&s);
    glfwDestroyWindow(win);
    return st;
}
