"""What ties the tabs together: the lesson beside them (its pages turn, Try it puts a page's view on
screen, its questions are checked), a link to what is on screen, the language, and what a page opened
with `?page=`, `?lang=` or a view's parameters shows first.

Every handler reads and writes by name over one mapping of the whole page (`page_components`): each tab's
components with its prefix ("kernel.matrix", "stages.grid"), the lesson's ("lesson.text"), "tabs", "tab"
(the tab in view), "picture" (the picture given last, in any tab), and the language's ("lang.switch", "lang.state", "lang.remembered")."""
from __future__ import annotations

import gradio as gr

from explorer import lesson
from explorer.core.words import say
from explorer.ui import language, lesson_panel
from explorer.ui.by_name import event
from explorer.ui.restore import READS, STAGES_SHOWN, WRITES, content, pending_stage, restored
from explorer.ui.view_link import View, as_text, example_of

QUIET = dict(api_visibility="private", show_progress="hidden")
PANEL = ("pages", "where", "text", "question", "reply", "verdict", "back", "forward")


def page_components(tabs: dict, lesson_view, lang, tab_shown: gr.State, link: gr.Textbox,
                    link_button: gr.Button, gr_tabs: gr.Tabs, picture: gr.State) -> dict:
    """The whole page by name: `tabs` maps "kernel", "stages", ... to each tab's components by name."""
    found = {f"{tab}.{name}": c for tab, components in tabs.items() for name, c in components.items()}
    found |= {f"lesson.{name}": c for name, c in lesson_view.components().items()}
    found |= {"lang.switch": lang.switch, "lang.state": lang.state, "lang.remembered": lang.remembered,
              "tab": tab_shown, "link": link, "link_button": link_button, "tabs": gr_tabs, "picture": picture,
              "reload_to": gr.Textbox(visible=False)}
    return found


def _reads() -> tuple:
    return tuple(f"{tab}.{name}" for tab, names in READS.items() for name in names)


def _writes() -> tuple:
    return tuple(f"{tab}.{name}" for tab, names in WRITES.items() for name in names) + ("tabs", "tab")


def _done(remembered) -> list:
    return list((remembered or {}).get("done") or []) if isinstance(remembered, dict) else []


def _panel(key: str, remembered=None) -> dict:
    return {f"lesson.{name}": value for name, value in lesson_panel.shown(key, _done(remembered)).items()}


# --- the lesson ----------------------------------------------------------------------------------

def on_turn(by: int):
    def turn(v: dict) -> dict:
        key = lesson_panel.turned(v["lesson.pages"], by)
        return _panel(key, v["lang.remembered"]) | {"lang.remembered": language.remember(v["lang.remembered"], page=key)}
    turn.__name__ = f"on_turn_{'back' if by < 0 else 'on'}"
    return turn


def on_try(v: dict, request: gr.Request = None) -> dict:
    """Try it: the page's view on screen, its tab in view."""
    page = lesson.page(v["lesson.pages"])
    view = View.from_try_it(page.try_it, page.key, page.tab)
    out = restored(view, v, request)
    return out | ({"tab": view.tab} if view.tab else {})


def on_check(v: dict) -> dict:
    key = v["lesson.pages"]
    words, right = lesson_panel.checked(key, v["lesson.reply"])
    remembered = v["lang.remembered"] if isinstance(v["lang.remembered"], dict) else {}
    done = sorted(set(_done(remembered)) | ({key} if right else set()))
    return {"lesson.verdict": words, "lesson.where": lesson_panel.progress(key, done),
            "lang.remembered": language.remember(remembered, done=done)}


def on_lesson_shown(open_: bool):
    def shown(v: dict) -> dict:
        return {"lang.remembered": language.remember(v["lang.remembered"], lesson_open=open_)}
    shown.__name__ = "on_lesson_opened" if open_ else "on_lesson_closed"
    return shown


def wire_lesson(c: dict) -> None:
    # whether the visitor keeps the lesson open, remembered for the next page they open here
    c["sidebar"].expand(**event(c, on_lesson_shown(True), ("lang.remembered",), ("lang.remembered",)), **QUIET)
    c["sidebar"].collapse(**event(c, on_lesson_shown(False), ("lang.remembered",), ("lang.remembered",)), **QUIET)
    panel = lambda name: c[f"lesson.{name}"]      # noqa: E731
    outputs = tuple(f"lesson.{n}" for n in PANEL) + ("lang.remembered",)
    for trigger, by in ((panel("back").click, -1), (panel("forward").click, 1), (panel("pages").select, 0)):
        trigger(**event(c, on_turn(by), ("lesson.pages", "lang.remembered"), outputs), **QUIET)
    panel("try_it").click(**event(c, on_try, ("lesson.pages",) + _reads(), _writes()),
                          api_visibility="private", show_progress="minimal").then(
        None, [panel("pages")], None, js=lesson_panel.after_try_js(), **QUIET)
    gr.on([panel("check").click, panel("reply").submit],
          **event(c, on_check, ("lesson.pages", "lesson.reply", "lang.remembered"),
                  ("lesson.verdict", "lesson.where", "lang.remembered")), **QUIET)


def on_stages_computed(v: dict, request: gr.Request = None) -> dict:
    """The Stages tab computed a new picture: a view waiting for it moves to its stage, channel and unit."""
    values = {name: v[f"stages.{name}"] for name in READS["stages"]}
    return {f"stages.{name}": value for name, value in
            pending_stage(values, getattr(request, "session_hash", None)).items()}


def wire_pending(c: dict, after_new_picture: dict) -> None:
    """After each of the Stages tab's new-picture events (explorer.ui.stages_tab), a view waiting for it."""
    inputs = tuple(f"stages.{name}" for name in READS["stages"])
    outputs = tuple(f"stages.{n}" for n in STAGES_SHOWN if n not in ("note", "label", "label_title", "stage_row"))
    for computed in after_new_picture.values():
        computed.then(**event(c, on_stages_computed, inputs, outputs), **QUIET)


# --- the link to what is on screen ---------------------------------------------------------------

LINKED = ("tab", "lesson.pages", "kernel.preset", "kernel.matrix", "kernel.kernel", "kernel.op",
          "kernel.pool_size", "kernel.stride", "kernel.padding", "kernel.dilation", "stages.model",
          "stages.picture", "stages.stage", "stages.shown_channel", "stages.unit", "saliency.model",
          "saliency.picture", "saliency.methods", "architecture.model")


def view_on_screen(v: dict) -> tuple[View, list[str]]:
    """The view a link should reopen, and what it cannot carry (the visitor's own picture)."""
    tab = v["tab"] or "kernel"
    kept, left_out = {"tab": tab, "page": v["lesson.pages"]}, []
    if tab == "kernel":
        from explorer.ui.kernel_settings import _rows
        kept |= {"op": v["kernel.op"], "stride": v["kernel.stride"], "padding": v["kernel.padding"],
                 "dilation": v["kernel.dilation"], "pool": v["kernel.pool_size"],
                 "matrix": _rows(v["kernel.matrix"]), "kernel": _rows(v["kernel.kernel"], "kernel")}
    elif tab in ("stages", "saliency"):
        picture = v[f"{tab}.picture"]
        example = example_of(content(picture)) if isinstance(picture, str) else None
        if picture is not None and example is None:
            left_out.append(say("your own picture (a link can only name the app's examples)",
                                "你自己的图片（链接只能指向本应用的示例图片）"))
        kept |= {"model": v[f"{tab}.model"], "picture": example}
        if tab == "stages":
            unit = v["stages.unit"]
            kept |= {"stage": v["stages.stage"], "channel": v["stages.shown_channel"],
                     "unit": tuple(unit[2:4]) if unit else None}
        else:
            kept |= {"method": (v["saliency.methods"] or [None])[0]}
    else:
        kept |= {"model": v["architecture.model"]}
    texts = {k: val for k, val in kept.items() if val is not None}
    view = View.from_query({k: as_text(val) for k, val in texts.items()})
    return view, left_out


def on_switch(v: dict) -> dict:
    """The language switched: where the page opens again (the link of what is on screen, in that language)."""
    view, _ = view_on_screen(v)
    lang = v["lang.switch"] or "en"
    query = view.query() + ("&" if view.query() else "?") + f"lang={lang}"
    return {"lang.state": lang, "lang.remembered": language.remember(v["lang.remembered"], lang=lang),
            "reload_to": query}


def wire_switch(c: dict) -> None:
    c["lang.switch"].input(**event(c, on_switch, LINKED + ("lang.switch", "lang.remembered"),
                                   ("lang.state", "lang.remembered", "reload_to")), **QUIET).then(
        None, [c["reload_to"]], None, js=language.RELOAD_JS, **QUIET)


def on_link(v: dict) -> dict:
    view, left_out = view_on_screen(v)
    lang = v["lang.state"] or "en"
    query = view.query() + ("&" if view.query() else "?") + f"lang={lang}"
    info = (say("Not in the link: {what}.", "链接里没有：{what}。", what="; ".join(left_out)) if left_out else "")
    return {"link": gr.Textbox(value=query, visible=True, info=info or None)}


# The server knows the query; the browser knows where the page lives (a Space's own address).
LINK_JS = "(q) => q && q.startsWith('?') ? window.location.origin + window.location.pathname + q : q"


def wire_link(c: dict) -> None:
    c["link_button"].click(**event(c, on_link, LINKED + ("lang.state",), ("link",)), **QUIET).then(
        None, [c["link"]], [c["link"]], js=LINK_JS, **QUIET)


def wire_tab_shown(tab_items: dict, c: dict) -> None:
    """Each tab, when selected, is the tab in view (for the link)."""
    for tab, item in tab_items.items():
        def shown(v: dict, tab=tab) -> dict:
            return {"tab": tab}
        shown.__name__ = f"on_{tab}_shown"
        item.select(**event(c, shown, (), ("tab",)), **QUIET)


# --- one picture for the whole app ----------------------------------------------------------------

PICTURE_TABS = ("stages", "saliency")


def on_picture_given(tab: str):
    def given(v: dict) -> dict:
        return {"picture": v[f"{tab}.picture"]} if v[f"{tab}.picture"] is not None else {}
    given.__name__ = f"on_{tab}_picture_given"
    return given


def on_entered(tab: str):
    """A tab opened: the picture given last in any tab becomes its picture too, unless it has it already
    (its picture input's own events then compute it)."""
    def entered(v: dict) -> dict:
        shared, own = v["picture"], v[f"{tab}.picture"]
        if shared is None or content(shared) == content(own):
            return {}
        drawing = isinstance(shared, dict)
        return {f"{tab}.sketch" if drawing else f"{tab}.photo": shared,
                f"{tab}.sources": gr.Tabs(selected="draw" if drawing else "photo")}
    entered.__name__ = f"on_{tab}_entered"
    return entered


def wire_one_picture(c: dict, tab_items: dict) -> None:
    for tab in PICTURE_TABS:
        c[f"{tab}.picture"].change(**event(c, on_picture_given(tab), (f"{tab}.picture",), ("picture",)), **QUIET)
        tab_items[tab].select(**event(c, on_entered(tab), ("picture", f"{tab}.picture"),
                                      (f"{tab}.photo", f"{tab}.sketch", f"{tab}.sources")), **QUIET)


# --- a page opened ---------------------------------------------------------------------------------

def on_load(v: dict, request: gr.Request = None) -> dict:
    """A page opened: its language; the lesson at `?page=` (and its Try it), else at the page this
    browser was on; a view's parameters put on screen."""
    from explorer.core.words import speaking

    params = dict(getattr(request, "query_params", None) or {})
    lang = language.request_language(request, v["lang.remembered"])
    with speaking(lang):
        return _opened(v, params, lang, request)


def _opened(v: dict, params: dict, lang: str, request) -> dict:
    remembered = language.remember(v["lang.remembered"], lang=lang)
    out = {"lang.state": lang, "lang.switch": lang}
    view = View.from_query(params)
    key = view.page if view.page in lesson.PAGE_KEYS else lesson_panel.remembered_page(remembered)
    if key:
        out |= _panel(key, remembered)
        remembered = language.remember(remembered, page=key)
    lesson_link = view.page in lesson.PAGE_KEYS and view == View(page=view.page)
    if remembered.get("lesson_open") is False and not lesson_link:      # closed last time, and no lesson link
        out["sidebar"] = gr.Sidebar(open=False)
    if lesson_link:                                                      # ?page= alone: its Try it
        page = lesson.page(view.page)
        view = View.from_try_it(page.try_it, page.key, page.tab)
    if view != View(page=view.page):
        out |= restored(view, v, request) | ({"tab": view.tab} if view.tab else {})
    if view.problems:
        gr.Warning(say("link: these parts could not be read and were left out: {parts}",
                       "链接：以下部分无法读取，已略过：{parts}", parts=", ".join(view.problems)))
    return out | {"lang.remembered": remembered}


def wire_load(demo: gr.Blocks, c: dict) -> None:
    outputs = (("lang.state", "lang.switch", "lang.remembered", "sidebar") + tuple(f"lesson.{n}" for n in PANEL)
               + _writes())
    demo.load(**event(c, on_load, ("lang.remembered",) + _reads(), outputs), **QUIET).then(
        None, [c["lang.switch"]], None, js=language.APPLY_JS, **QUIET)
