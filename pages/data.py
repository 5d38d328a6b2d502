"""Data page: upload a file (or use the example), check columns, types, missing values and how
the rows group into classes and schools."""

import streamlit as st

from hlm_core.examples import example_info, list_examples
from hlm_core.io import SUPPORTED_FORMATS
from ui import analysis, builder, data, guidance, model, nav, widgets
from ui.state import session
from ui.text import MAX_CELL_SHOWN, md, preview

widgets.page_header(
    "Data",
    "Load the data: one row per student (or other unit), with a column saying which class or "
    "school each row belongs to.",
)

left, right = st.columns([3, 2], vertical_alignment="center")
with left:
    st.file_uploader(
        "Upload data",
        type=data.UPLOAD_TYPES,
        key=data.W_UPLOAD,
        help=SUPPORTED_FORMATS,
        on_change=data.on_upload,
    )
with right:
    examples = list_examples()
    example = st.selectbox(
        "Example data set",
        list(examples),
        format_func=lambda n: example_info(n).title,
        key=data.W_EXAMPLE,
        persist_state="session",
        help="Made-up classroom data, or one of three classic data sets from the multilevel "
        "literature (from the R package mlmRev). Each has a guided tour in workshop mode.",
    )
    st.button("Use example data", icon=":material/school:", on_click=data.ask_example)
    st.caption(example_info(example).description + ".")
if data.read_pending():
    st.rerun()  # the header and sidebar, drawn before, show the new data
analysis.open_section()
guidance.workshop_note("data")

if session().read_error:
    widgets.show_error(session().read_error)

table = session().table
if table is None:
    st.info(
        "Upload a file above, or choose an example data set and press **Use example data** to "
        "explore."
    )
    guidance.workshop_note("example_data")
    widgets.warm_up_charts()  # while the user picks a file
    st.stop()

# ---------------------------------------------------------------- what was loaded
if len(table.sheets) > 1 and session().raw is not None:
    st.session_state["w_sheet"] = table.sheet
    st.selectbox(
        "Sheet",
        table.sheets,
        key="w_sheet",
        on_change=lambda: data.choose_sheet(st.session_state["w_sheet"]),
        help="This workbook has several sheets; choose the one holding the data.",
    )

frame = data.working_frame()
st.subheader(f"{md(table.name)}: {widgets.rows_cols(frame)}")
if table.sheet:
    st.caption(f"Sheet: {md(table.sheet)}")
for note in table.notes:  # what the reader decided: trimmed IDs, cells read as missing, codes
    widgets.note(note)

loaded_example = session().example
if loaded_example:
    info = example_info(loaded_example)
    with st.expander(f"Guided tour: {info.title}", expanded=guidance.workshop_on(),
                     icon=":material/tour:"):
        st.markdown(
            "\n".join(f"{i}. **{page}** — {step}" for i, (page, step) in
                      enumerate(info.tour.items(), start=1))
        )
        st.markdown("Models to try (type one in the Formula box on the Model page):")
        st.code("\n".join(info.formulas), language=None)
        st.caption(f"Source: {info.source}")
        st.download_button(
            f"Download {info.file_name}",
            data=lambda: data.example_file(loaded_example),
            file_name=info.file_name,
            mime="text/csv",
            key="dl_example",
            icon=":material/download:",
            on_click="ignore",
            help="The example as a file, so the reproducible R or Python code (Report & "
            "export page) can read it.",
        )

shown, cut = preview(frame.head(200))
st.dataframe(shown, hide_index=True, height=280)
if len(frame) > 200:
    st.caption(f"Showing the first 200 of {len(frame):,} rows.")
if cut:
    st.caption(
        f":material/content_cut: {cut:,} long text value{'s' * (cut != 1)} shown cut to "
        f"{MAX_CELL_SHOWN:,} characters here; the data keep them in full."
    )

# ---------------------------------------------------------------- missing-value codes
codes = data.suspected_missing_codes()
if codes:
    listing = "; ".join(
        f"{md(col)}: {', '.join(f'{v:g}' for v in vals)}" for col, vals in codes.items()
    )
    st.warning(
        f"Some numbers look like codes for a missing answer ({listing}). Left in, they would "
        "count as real values.",
        icon=":material/warning:",
    )
    st.session_state["w_missing_codes"] = bool(session().missing)
    st.checkbox(
        "Treat these codes as missing",
        key="w_missing_codes",
        on_change=lambda: data.set_missing_codes(st.session_state["w_missing_codes"]),
    )

# text typed into a few cells of a number column ("absent"): fix it here, no re-upload
for col, entries in data.stray_text().items():
    listing = ", ".join(f"{widgets.md_code(v)} ({n:,})" for v, n in entries.items())
    st.warning(
        f"{widgets.md_code(col)} holds numbers except for {int(entries.sum()):,} "
        f"entr{'y' if entries.sum() == 1 else 'ies'}: {listing}. As it is, the column is read "
        "as text and can't be an outcome or a number predictor.",
        icon=":material/warning:",
    )
    key = f"w_stray_{col}"
    st.session_state[key] = col in session().stray
    st.checkbox(
        "Treat these values as missing",
        key=key,
        on_change=lambda c=col, k=key: data.set_stray(c, st.session_state[k]),
        help="The column becomes numbers; the rows with these entries have no value in it "
        "(a model that uses the column leaves them out, and says how many).",
    )
    if col in session().stray:
        st.caption(f":material/check: {widgets.md_code(col)} is now a number column: "
                   f"{int(entries.sum()):,} entries are missing values.")

# ---------------------------------------------------------------- columns
st.subheader("Columns")
summary = data.column_summary(frame)
st.dataframe(
    preview(summary)[0],  # an example value can be a long text
    hide_index=True,
    column_config={
        "Missing %": st.column_config.NumberColumn(format="%.1f%%"),
        "Distinct values": st.column_config.NumberColumn(format="localized"),
        "Missing": st.column_config.NumberColumn(format="localized"),
    },
)
widgets.download_csv(summary, "columns.csv", "Download column summary (CSV)", key="dl_columns")

st.session_state["w_categorical"] = summary.loc[summary["Type"] == "category", "Column"].tolist()
st.multiselect(
    "Categorical columns",
    options=list(frame.columns),
    key="w_categorical",
    on_change=lambda: data.set_categorical(st.session_state["w_categorical"]),
    help="Columns listed here are treated as categories (groups, labels); the others as numbers. "
    "Add a number column such as a class number to treat it as a category; remove a column to "
    "treat it as numbers.",
)
if session().type_error:
    widgets.show_error(session().type_error)

# ---------------------------------------------------------------- structure
st.subheader("How the rows group")
guidance.workshop_note("levels")
st.session_state["w_levels"] = [
    c for c in session().levels if c in frame.columns
]
st.multiselect(
    "Grouping columns (smallest group first)",
    options=builder.grouping_first(frame),
    key="w_levels",
    on_change=lambda: model.set_levels(st.session_state["w_levels"]),
    help="For students in classes in schools, choose class first, then school. "
    + (guidance.help_text("nested") or "") + " " + (guidance.help_text("crossed") or ""),
)
levels = st.session_state["w_levels"]
if levels:
    structure = data.structure(frame, levels)
    if isinstance(structure, str):
        widgets.show_error(structure)
    else:
        st.markdown("\n".join(f"- {md(line, None)}" for line in structure.summary_lines()))
        for w in structure.warnings:
            st.warning(md(w, None), icon=":material/warning:")
        order = structure.suggested_order()
        if order:
            st.button(
                f"Swap the order: {', '.join(md(o) for o in order)}", icon=":material/swap_vert:",
                key="w_levels_swap", type="primary",
                on_click=lambda o=order: model.set_levels(list(o)),
                help="Lists the smallest group first, as the model needs it. The Model page "
                "already nests them this way.",
            )
        for rel in structure.relations:
            if rel.kind == "reversed":
                st.caption(
                    f":material/account_tree: **Nested:** each {md(rel.outer)} sits in one "
                    f"{md(rel.inner)}; the model uses {md(f'(1 | {rel.inner}/{rel.outer})')}."
                )
            elif rel.kind == "crossed":
                st.info(
                    f"**Crossed:** {md(rel.inner)} and {md(rel.outer)} cut across each other "
                    "rather than one containing the other. "
                    + (
                        f"The Model page starts with them as crossed grouping variables, "
                        f"{md(f'(1 | {rel.inner}) + (1 | {rel.outer})')}."
                        if len(levels) == 2
                        else "On the Model page, choose one as the grouping variable and the "
                        "other under 'Crossed with'."
                    ),
                    icon=":material/grid_on:",
                )
            else:
                how = "nested" if rel.kind == "nested" else "nested (IDs reused)"
                st.caption(
                    f":material/account_tree: **{how.capitalize()}:** each {md(rel.inner)} sits "
                    f"in one {md(rel.outer)}; the model uses "
                    f"{md(f'(1 | {rel.outer}/{rel.inner})')}."
                )
else:
    st.caption("Choose the grouping columns to check how many groups there are and how they nest.")

st.divider()
st.page_link(nav.MODEL_PAGE, label="Next: choose the model", icon=":material/arrow_forward:")
widgets.warm_up_charts()  # last: the page's own content draws first

