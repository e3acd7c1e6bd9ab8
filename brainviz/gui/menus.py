"""The main window's menus and their handler (menu actions call the window's methods)."""
from traitsui.api import Action, Handler, Menu, MenuBar, Separator

__all__ = ["MainHandler", "main_menubar"]


def main_menubar():
    """File (open, sessions, export, quit) and Data (demos) menus."""
    return MenuBar(
        Menu(Action(name="&Open...", action="do_open"),
             Action(name="Open &session...", action="do_open_session"),
             Action(name="Sa&ve session...", action="do_save_session"),
             Separator(),
             Action(name="&Export figure...", action="do_export"),
             Action(name="Copy &render command", action="do_copy_render_command"),
             Separator(),
             Action(name="&Quit", action="do_quit"),
             name="&File"),
        Menu(Action(name="Built-in &demo", action="do_demo"),
             Action(name="&Decoding demo data", action="do_decoding_demo"),
             Action(name="&Resting-state demo data", action="do_resting_demo"),
             name="&Data"),
    )


class MainHandler(Handler):
    """Menu actions and window close."""

    def _win(self, info):
        return info.object

    def do_open(self, info):
        self._win(info).open_files_dialog()

    def do_open_session(self, info):
        from .dialogs import ask_open_session

        path = ask_open_session(info.ui.control)
        if path:
            self._win(info).open_session(path)

    def do_save_session(self, info):
        from .dialogs import ask_save_file

        path = ask_save_file(info.ui.control, "Save session", default="session.json")
        if path:
            self._win(info).save_session(path)

    def do_export(self, info):
        self._win(info).export_dialog()

    def do_copy_render_command(self, info):
        self._win(info).copy_render_command()

    def do_demo(self, info):
        self._win(info).load_demo()

    def do_decoding_demo(self, info):
        self._win(info).load_decoding_demo()

    def do_resting_demo(self, info):
        self._win(info).load_resting_state_demo()

    def do_quit(self, info):
        info.ui.control.close()

    def closed(self, info, is_ok):
        self._win(info).shutdown()
