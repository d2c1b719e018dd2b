//! The build: load config, templates and content; render markdown; render templates;
//! write pages, aliases, sitemap, robots.txt, 404 page, search index and files.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use anyhow::{Context as _, Result};
use rayon::prelude::*;
use serde_json::{json, Value};
use walkdir::WalkDir;

use crate::check::{self, PageScan, Problem};
use crate::cjk;
use crate::config::Config;
use crate::content::{self, Body, Content};
use crate::markdown;
use crate::output::Output;
use crate::search;
use crate::sheets;
use crate::shortcode::{self, Kind};
use crate::templates::{Files, Library, Templates};

/// Receives one output file: its path, its bytes and the content file it came from.
type Emit<'a> = dyn Fn(String, Vec<u8>, Option<&str>) -> Result<()> + Sync + 'a;

/// A loaded site, ready to build.
pub struct Site {
    /// The folder with config.toml, templates/ and static/.
    pub root: PathBuf,
    /// The configuration.
    pub config: Config,
    /// Templates and functions.
    pub templates: Templates,
    /// Pages and sections.
    pub content: Content,
}

/// What a build did and found.
#[derive(Debug, Default)]
pub struct Report {
    /// Pages rendered.
    pub pages: usize,
    /// Sections rendered.
    pub sections: usize,
    /// Files written in all.
    pub files: usize,
    /// Everything wrong, each with its file and a fix; the build fails if any.
    pub problems: Vec<Problem>,
}

/// Finds the site root from the current folder: `./config.toml`, else `./site/config.toml`.
pub fn find_root(explicit: Option<&Path>) -> PathBuf {
    if let Some(root) = explicit {
        return root.to_path_buf();
    }
    if Path::new("config.toml").is_file() || !Path::new("site/config.toml").is_file() {
        PathBuf::from(".")
    } else {
        PathBuf::from("site")
    }
}

impl Site {
    /// Loads the config, templates and content of the site at `root`.
    pub fn load(root: &Path) -> Result<Site> {
        let config = Config::load(root)?;
        Site::load_with(root, config)
    }

    /// Loads templates and content with a given config.
    pub fn load_with(root: &Path, config: Config) -> Result<Site> {
        let started = Instant::now();
        let templates = Templates::load(root, &config)?;
        let content = content::load(&config.content_path(root))?;
        tracing::debug!("loaded content in {:?}", started.elapsed());
        Ok(Site {
            root: root.to_path_buf(),
            config,
            templates,
            content,
        })
    }

    /// Reloads one page's file after an edit, keeping its place in the tree. Returns false
    /// when the edit needs a full reload (new file, changed path, sort key or front matter
    /// error). Gives the page's index.
    pub fn reload_page(&mut self, file: &Path) -> Option<usize> {
        let index = self.content.pages.iter().position(|p| p.file == file)?;
        let fresh =
            content::load_single_page(file, &self.content.pages[index].relative_path).ok()?;
        let old = &self.content.pages[index];
        if fresh.path != old.path
            || fresh.meta.weight != old.meta.weight
            || fresh.meta.date.as_ref().map(|d| d.as_string())
                != old.meta.date.as_ref().map(|d| d.as_string())
            || fresh.meta.title != old.meta.title
            || fresh.meta.draft
            || fresh.meta.aliases != old.meta.aliases
        {
            return None;
        }
        let page = &mut self.content.pages[index];
        page.meta = fresh.meta;
        page.raw = fresh.raw;
        Some(index)
    }

    /// Builds everything into `out`.
    pub fn build(&mut self, out: &dyn Output) -> Result<Report> {
        let started = Instant::now();
        let mut problems: Vec<Problem> = self
            .content
            .errors
            .iter()
            .map(|e| Problem {
                file: format!("content/{}", e.file),
                message: e.message.clone(),
            })
            .collect();
        check_unique_paths(&self.content, &mut problems);

        let permalinks = self.permalinks();
        let mut generated = self.compile_sheets(&mut problems);
        self.compile_form_templates(&mut generated, &mut problems);
        self.install_files(generated.clone());
        self.install_library(&permalinks, false);
        self.render_bodies(&permalinks, &mut problems);
        tracing::debug!("rendered markdown in {:?}", started.elapsed());
        let values = self.install_library(&permalinks, true);

        let scans: Mutex<HashMap<String, PageScan>> = Mutex::new(HashMap::new());
        let written: Mutex<HashSet<String>> = Mutex::new(HashSet::new());
        let sources: Mutex<HashMap<String, String>> = Mutex::new(HashMap::new());
        let emit = |path: String, bytes: Vec<u8>, source: Option<&str>| -> Result<()> {
            if path.ends_with(".html") {
                let scan = check::scan(std::str::from_utf8(&bytes).unwrap_or(""));
                scans.lock().unwrap().insert(path.clone(), scan);
            }
            if let Some(source) = source {
                sources
                    .lock()
                    .unwrap()
                    .insert(path.clone(), format!("content/{source}"));
            }
            out.write(&path, bytes)?;
            written.lock().unwrap().insert(path);
            Ok(())
        };

        let render_problems = Mutex::new(Vec::new());
        let report_failure = |file: &str, e: anyhow::Error| {
            render_problems.lock().unwrap().push(Problem {
                file: format!("content/{file}"),
                message: format!("{e:#}"),
            });
        };
        let config_value = serde_json::to_value(&self.config)?;
        let content = &self.content;
        (0..content.pages.len()).into_par_iter().for_each(|i| {
            let page = &content.pages[i];
            if page.meta.render == Some(false) {
                return;
            }
            let result = self
                .render_page(i, &values, &config_value)
                .and_then(|html| {
                    emit(
                        output_path(&page.path),
                        html.into_bytes(),
                        Some(&page.relative_path),
                    )
                });
            if let Err(e) = result {
                report_failure(&page.relative_path, e);
            }
        });
        (0..content.sections.len()).into_par_iter().for_each(|i| {
            let section = &content.sections[i];
            if section.meta.render == Some(false) {
                return;
            }
            let result = self
                .render_section(i, &values, &config_value)
                .and_then(|html| {
                    emit(
                        output_path(&section.path),
                        html.into_bytes(),
                        Some(&section.relative_path),
                    )
                });
            if let Err(e) = result {
                report_failure(&section.relative_path, e);
            }
        });
        problems.extend(render_problems.into_inner().unwrap());

        self.write_aliases(&emit)?;
        self.write_special_pages(&emit, &config_value, &mut problems)?;
        self.write_search_index(&emit)?;
        for (url, bytes) in &generated {
            emit(
                url.trim_start_matches('/').to_string(),
                bytes.as_ref().clone(),
                None,
            )?;
        }
        let copied = self.copy_files(out)?;
        tracing::debug!("rendered templates in {:?}", started.elapsed());

        let mut files = written.into_inner().unwrap();
        files.extend(copied);
        let scans = scans.into_inner().unwrap();
        let sources = sources.into_inner().unwrap();
        problems.extend(check::check_links(
            &scans,
            &files,
            &self.config.base_url,
            &sources,
        ));
        problems.sort();
        problems.dedup();
        Ok(Report {
            pages: self.content.pages.len(),
            sections: self.content.sections.len(),
            files: files.len(),
            problems,
        })
    }

    fn permalinks(&self) -> HashMap<String, String> {
        let mut map =
            HashMap::with_capacity(self.content.pages.len() + self.content.sections.len());
        for page in &self.content.pages {
            map.insert(
                page.relative_path.clone(),
                self.config.make_permalink(&page.path),
            );
        }
        for section in &self.content.sections {
            map.insert(
                section.relative_path.clone(),
                self.config.make_permalink(&section.path),
            );
        }
        map
    }

    fn compile_sheets(&self, problems: &mut Vec<Problem>) -> HashMap<String, Arc<Vec<u8>>> {
        let jobs: Vec<(String, &PathBuf, &str)> = self
            .content
            .pages
            .iter()
            .flat_map(|page| {
                page.sheets
                    .iter()
                    .map(move |s| (page.path.clone(), s, page.relative_path.as_str()))
            })
            .collect();
        let results: Vec<_> = jobs
            .par_iter()
            .map(|(dir, file, source)| {
                let name = file.file_name().unwrap_or_default().to_string_lossy();
                let name = name.trim_end_matches(content::SHEET_SUFFIX).to_string();
                (format!("{dir}{name}.xlsx"), sheets::compile(file), *source)
            })
            .collect();
        let mut generated = HashMap::new();
        for (url, result, source) in results {
            match result {
                Ok(bytes) => {
                    generated.insert(url, Arc::new(bytes));
                }
                Err(e) => problems.push(Problem {
                    file: format!("content/{source}"),
                    message: format!("{e:#}"),
                }),
            }
        }
        generated
    }

    /// The bulk-filing templates (XLSX and CSV) of every form with rows, made from its
    /// definition in `content/forms/` and placed beside the form's page.
    fn compile_form_templates(
        &self,
        generated: &mut HashMap<String, Arc<Vec<u8>>>,
        problems: &mut Vec<Problem>,
    ) {
        let dir = self.config.content_path(&self.root).join("forms");
        if !dir.is_dir() {
            return;
        }
        let forms = match beian_functions::forms::Forms::load_dir(&dir) {
            Ok(forms) => forms,
            Err(e) => {
                problems.push(Problem {
                    file: "content/forms".into(),
                    message: format!("{e:#}"),
                });
                return;
            }
        };
        for def in forms.by_id.values().filter(|d| !d.groups.is_empty()) {
            let made = beian_functions::template::to_xlsx(def)
                .and_then(|xlsx| Ok((xlsx, beian_functions::template::to_csv(def)?)));
            match made {
                Ok((xlsx, csv)) => {
                    generated.insert(format!("/forms/{}/template.xlsx", def.id), Arc::new(xlsx));
                    generated.insert(format!("/forms/{}/template.csv", def.id), Arc::new(csv));
                }
                Err(e) => problems.push(Problem {
                    file: format!("content/forms/{}.toml", def.id),
                    message: format!("生成电子表格模板失败：{e:#}"),
                }),
            }
        }
    }

    fn install_files(&self, generated: HashMap<String, Arc<Vec<u8>>>) {
        let mut assets = HashMap::new();
        for page in &self.content.pages {
            assets.extend(page.assets.iter().cloned());
        }
        for section in &self.content.sections {
            assets.extend(section.assets.iter().cloned());
        }
        let mut files = self.templates.files.write().unwrap();
        let fresh = Files {
            root: files.root.clone(),
            content: files.content.clone(),
            static_dir: files.static_dir.clone(),
            generated,
            assets,
        };
        *files = Arc::new(fresh);
    }

    /// Puts page and section values where `get_page` and `get_section` find them. Before
    /// markdown is rendered they have no content; with `full`, each page's and section's
    /// rendered body moves into its value (only the text stays behind, for search).
    fn install_library(
        &mut self,
        permalinks: &HashMap<String, String>,
        full: bool,
    ) -> Arc<Library> {
        let keep_text = self.config.build_search_index;
        let mut page_bodies: Vec<Option<Body>> = self
            .content
            .pages
            .iter_mut()
            .map(|p| full.then(|| take_body(&mut p.body, keep_text)))
            .collect();
        let mut section_bodies: Vec<Option<Body>> = self
            .content
            .sections
            .iter_mut()
            .map(|s| full.then(|| take_body(&mut s.body, keep_text)))
            .collect();
        let pages: HashMap<String, Value> = page_bodies
            .par_iter_mut()
            .enumerate()
            .map(|(i, body)| {
                let path = self.content.pages[i].relative_path.clone();
                (path, self.page_value(i, permalinks, body.take()))
            })
            .collect();
        let mut sections = HashMap::new();
        let mut sections_meta = HashMap::new();
        let mut section_pages = HashMap::new();
        for (i, s) in self.content.sections.iter().enumerate() {
            let path = s.relative_path.clone();
            sections_meta.insert(path.clone(), self.section_value(i, permalinks, None));
            sections.insert(
                path.clone(),
                self.section_value(i, permalinks, section_bodies[i].take()),
            );
            let list = s
                .pages
                .iter()
                .map(|&p| self.content.pages[p].relative_path.clone())
                .collect();
            section_pages.insert(path, list);
        }
        let library = Arc::new(Library {
            pages,
            sections,
            sections_meta,
            section_pages,
            permalinks: permalinks.clone(),
        });
        *self.templates.library.write().unwrap() = library.clone();
        library
    }

    fn page_value(
        &self,
        i: usize,
        permalinks: &HashMap<String, String>,
        body: Option<Body>,
    ) -> Value {
        let page = &self.content.pages[i];
        let meta = &page.meta;
        let permalink = &permalinks[&page.relative_path];
        let colocated = page
            .relative_path
            .ends_with("index.md")
            .then(|| page.relative_path.trim_end_matches("index.md").to_string());
        let mut value = json!({
            "relative_path": page.relative_path,
            "colocated_path": colocated,
            "title": meta.title,
            "description": meta.description,
            "date": meta.date.as_ref().map(|d| d.as_string()),
            "updated": meta.updated.as_ref().map(|d| d.as_string()),
            "weight": meta.weight,
            "draft": meta.draft,
            "slug": page.slug,
            "path": page.path,
            "permalink": permalink,
            "components": page.path.split('/').filter(|s| !s.is_empty()).collect::<Vec<_>>(),
            "authors": meta.authors,
            "taxonomies": meta.taxonomies,
            "extra": toml_to_json(&meta.extra),
            "assets": page.assets.iter().map(|(url, _)| url.clone()).chain(page.sheets.iter().map(|s| {
                let name = s.file_name().unwrap_or_default().to_string_lossy();
                format!("{}{}.xlsx", page.path, name.trim_end_matches(content::SHEET_SUFFIX))
            })).collect::<Vec<_>>(),
            "ancestors": self.content.ancestors(page.section),
            "lang": self.config.default_language,
        });
        if let Some(body) = body {
            let object = value.as_object_mut().expect("a page value is an object");
            insert_body(object, body);
        }
        value
    }

    fn section_value(
        &self,
        i: usize,
        permalinks: &HashMap<String, String>,
        body: Option<Body>,
    ) -> Value {
        let section = &self.content.sections[i];
        let meta = &section.meta;
        let mut value = json!({
            "relative_path": section.relative_path,
            "title": meta.title,
            "description": meta.description,
            "weight": meta.weight,
            "path": section.path,
            "permalink": permalinks[&section.relative_path],
            "components": section.path.split('/').filter(|s| !s.is_empty()).collect::<Vec<_>>(),
            "extra": toml_to_json(&meta.extra),
            "subsections": section.subsections.iter().map(|&s| self.content.sections[s].relative_path.clone()).collect::<Vec<_>>(),
            "assets": section.assets.iter().map(|(url, _)| url.clone()).collect::<Vec<_>>(),
            "ancestors": self.content.ancestors(section.parent),
            "lang": self.config.default_language,
        });
        let object = value.as_object_mut().expect("a section value is an object");
        if let Some(body) = body {
            insert_body(object, body);
        }
        object.insert("pages".into(), Value::Array(Vec::new()));
        value
    }

    /// Renders every page's and section's markdown, shortcodes included.
    fn render_bodies(&mut self, permalinks: &HashMap<String, String>, problems: &mut Vec<Problem>) {
        let renderer = BodyRenderer::new(self, permalinks);
        let page_results: Vec<(Body, Vec<String>)> = (0..self.content.pages.len())
            .into_par_iter()
            .map(|i| renderer.page(self, i))
            .collect();
        let section_results: Vec<(Body, Vec<String>)> = (0..self.content.sections.len())
            .into_par_iter()
            .map(|i| renderer.section(self, i))
            .collect();
        for (page, (body, errors)) in self.content.pages.iter_mut().zip(page_results) {
            page.body = body;
            let file = format!("content/{}", page.relative_path);
            problems.extend(errors.into_iter().map(|message| Problem {
                file: file.clone(),
                message,
            }));
        }
        for (section, (body, errors)) in self.content.sections.iter_mut().zip(section_results) {
            section.body = body;
            let file = format!("content/{}", section.relative_path);
            problems.extend(errors.into_iter().map(|message| Problem {
                file: file.clone(),
                message,
            }));
        }
    }

    /// Re-renders one edited page after a full build: its body, the page itself, its section
    /// and its neighbours. Returns the output files that changed.
    pub fn rebuild_page(&mut self, index: usize) -> Result<Vec<(String, Vec<u8>)>> {
        let permalinks = self.permalinks();
        let renderer = BodyRenderer::new(self, &permalinks);
        let (body, errors) = renderer.page(self, index);
        if let Some(error) = errors.first() {
            anyhow::bail!(
                "`content/{}`：{error}",
                self.content.pages[index].relative_path
            );
        }
        let value = self.page_value(index, &permalinks, Some(body));
        let library = {
            let mut guard = self
                .templates
                .library
                .write()
                .unwrap_or_else(|e| e.into_inner());
            let library = Arc::make_mut(&mut guard);
            library
                .pages
                .insert(self.content.pages[index].relative_path.clone(), value);
            guard.clone()
        };
        let config_value = serde_json::to_value(&self.config)?;
        let page = &self.content.pages[index];
        let mut out = Vec::new();
        let (lower, higher) = self.content.neighbours(index);
        for i in [Some(index), lower, higher].into_iter().flatten() {
            let html = self.render_page(i, &library, &config_value)?;
            out.push((output_path(&self.content.pages[i].path), html.into_bytes()));
        }
        if let Some(s) = page.section {
            let html = self.render_section(s, &library, &config_value)?;
            out.push((
                output_path(&self.content.sections[s].path),
                html.into_bytes(),
            ));
        }
        Ok(out)
    }

    fn shortcode_kinds(&self) -> HashMap<String, Kind> {
        self.templates
            .tera
            .get_template_names()
            .filter_map(|name| {
                let rest = name.strip_prefix("shortcodes/")?;
                if let Some(n) = rest.strip_suffix(".html") {
                    Some((n.to_string(), Kind::Html))
                } else {
                    rest.strip_suffix(".md")
                        .map(|n| (n.to_string(), Kind::Markdown))
                }
            })
            .collect()
    }

    fn base_context(&self, config_value: &Value, path: &str, permalink: &str) -> tera::Context {
        let mut ctx = tera::Context::new();
        ctx.insert("config", config_value);
        ctx.insert("lang", &self.config.default_language);
        ctx.insert("current_path", path);
        ctx.insert("current_url", permalink);
        ctx
    }

    /// Renders the page at `index` with its template.
    pub fn render_page(
        &self,
        index: usize,
        library: &Library,
        config_value: &Value,
    ) -> Result<String> {
        let page = &self.content.pages[index];
        let mut value = library.pages[&page.relative_path].clone();
        let (lower, higher) = self.content.neighbours(index);
        let light = |i: Option<usize>| {
            i.and_then(|i| library.pages.get(&self.content.pages[i].relative_path))
                .map(light_page)
        };
        if let Some(object) = value.as_object_mut() {
            object.insert("lower".into(), light(lower).unwrap_or(Value::Null));
            object.insert("higher".into(), light(higher).unwrap_or(Value::Null));
        }
        let template = page
            .meta
            .template
            .clone()
            .or_else(|| {
                page.section
                    .and_then(|s| self.content.sections[s].meta.page_template.clone())
            })
            .unwrap_or_else(|| "page.html".into());
        self.require_template(&template)?;
        let mut ctx = self.base_context(
            config_value,
            &page.path,
            &library.permalinks[&page.relative_path],
        );
        ctx.insert("page", &value);
        self.templates.render(&template, &ctx)
    }

    /// Renders the section at `index` with its template.
    pub fn render_section(
        &self,
        index: usize,
        library: &Library,
        config_value: &Value,
    ) -> Result<String> {
        let section = &self.content.sections[index];
        let permalink = &library.permalinks[&section.relative_path];
        if let Some(target) = &section.meta.redirect_to {
            return Ok(redirect_html(target, &self.config.default_language));
        }
        let template = section.meta.template.clone().unwrap_or_else(|| {
            if index == 0 {
                "index.html".into()
            } else {
                "section.html".into()
            }
        });
        self.require_template(&template)?;
        let mut ctx = self.base_context(config_value, &section.path, permalink);
        let value = library
            .section_with_pages(&section.relative_path)
            .unwrap_or(Value::Null);
        ctx.insert("section", &value);
        ctx.insert("paginator", &Value::Null);
        self.templates.render(&template, &ctx)
    }

    fn require_template(&self, name: &str) -> Result<()> {
        if self.templates.has(name) {
            Ok(())
        } else {
            anyhow::bail!("找不到模板 `{name}`：请在 templates/ 目录中创建它，或在前言中用 template 指定已有的模板")
        }
    }

    fn write_aliases(&self, emit: &Emit<'_>) -> Result<()> {
        let lang = &self.config.default_language;
        let pages = self
            .content
            .pages
            .iter()
            .map(|p| (&p.meta.aliases, &p.path, &p.relative_path));
        let sections = self
            .content
            .sections
            .iter()
            .map(|s| (&s.meta.aliases, &s.path, &s.relative_path));
        for (aliases, path, source) in pages.chain(sections) {
            for alias in aliases {
                let target = self.config.make_permalink(path);
                let trimmed = alias.trim_matches('/');
                let file = if alias.ends_with(".html") {
                    trimmed.to_string()
                } else {
                    format!("{trimmed}/index.html")
                };
                emit(
                    file,
                    redirect_html(&target, lang).into_bytes(),
                    Some(source),
                )?;
            }
        }
        Ok(())
    }

    fn write_special_pages(
        &self,
        emit: &Emit<'_>,
        config_value: &Value,
        problems: &mut Vec<Problem>,
    ) -> Result<()> {
        if self.templates.has("404.html") {
            let ctx = self.base_context(
                config_value,
                "/404.html",
                &self.config.make_permalink("404.html"),
            );
            match self.templates.render("404.html", &ctx) {
                Ok(html) => emit("404.html".into(), html.into_bytes(), None)?,
                Err(e) => problems.push(Problem {
                    file: "templates/404.html".into(),
                    message: format!("{e:#}"),
                }),
            }
        }
        if self.config.generate_robots_txt {
            let text = if self.templates.has("robots.txt") {
                let ctx = self.base_context(
                    config_value,
                    "/robots.txt",
                    &self.config.make_permalink("robots.txt"),
                );
                self.templates.render("robots.txt", &ctx)?
            } else {
                format!(
                    "User-agent: *\nAllow: /\nSitemap: {}\n",
                    self.config.make_permalink("sitemap.xml")
                )
            };
            emit("robots.txt".into(), text.into_bytes(), None)?;
        }
        if self.config.generate_sitemap {
            emit("sitemap.xml".into(), self.sitemap().into_bytes(), None)?;
        }
        Ok(())
    }

    fn sitemap(&self) -> String {
        let mut entries: Vec<(String, Option<String>)> = Vec::new();
        for section in &self.content.sections {
            if section.meta.render != Some(false) && section.meta.redirect_to.is_none() {
                entries.push((self.config.make_permalink(&section.path), None));
            }
        }
        for page in &self.content.pages {
            if page.meta.render != Some(false) {
                let date = page
                    .meta
                    .updated
                    .as_ref()
                    .or(page.meta.date.as_ref())
                    .map(|d| d.as_string());
                entries.push((self.config.make_permalink(&page.path), date));
            }
        }
        entries.sort();
        let mut xml = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<urlset xmlns=\"http://www.sitemaps.org/schemas/sitemap/0.9\">\n");
        for (loc, date) in entries {
            xml.push_str("  <url>\n    <loc>");
            xml.push_str(&crate::templates::escape_html(&loc));
            xml.push_str("</loc>\n");
            if let Some(date) = date {
                xml.push_str(&format!(
                    "    <lastmod>{}</lastmod>\n",
                    &date[..date.len().min(10)]
                ));
            }
            xml.push_str("  </url>\n");
        }
        xml.push_str("</urlset>\n");
        xml
    }

    /// The search index of this build, if the config asks for one.
    pub fn search_index(&self) -> Option<search::Index> {
        if !self.config.build_search_index {
            return None;
        }
        let limit = if self.config.search.include_content {
            self.config.search.truncate_content_length
        } else {
            0
        };
        let include = self.config.search.include_content;
        let mut docs = Vec::new();
        let body = |b: &Body| {
            if include {
                search::truncate_chars(&b.text, limit)
            } else {
                String::new()
            }
        };
        for section in &self.content.sections {
            if section.meta.in_search_index != Some(false) && section.meta.render != Some(false) {
                docs.push(search::Doc {
                    u: self.config.make_permalink(&section.path),
                    t: section.meta.title.clone().unwrap_or_default(),
                    d: section.meta.description.clone().unwrap_or_default(),
                    b: body(&section.body),
                });
            }
        }
        for page in &self.content.pages {
            if page.meta.in_search_index != Some(false) && page.meta.render != Some(false) {
                docs.push(search::Doc {
                    u: self.config.make_permalink(&page.path),
                    t: page.meta.title.clone().unwrap_or_default(),
                    d: page.meta.description.clone().unwrap_or_default(),
                    b: body(&page.body),
                });
            }
        }
        Some(search::Index {
            lang: self.config.default_language.clone(),
            docs,
        })
    }

    fn write_search_index(&self, emit: &Emit<'_>) -> Result<()> {
        if let Some(index) = self.search_index() {
            emit(
                "search-index.json".into(),
                serde_json::to_vec(&index)?,
                None,
            )?;
        }
        Ok(())
    }

    /// Copies `static/` and co-located files; returns the output paths.
    fn copy_files(&self, out: &dyn Output) -> Result<Vec<String>> {
        let mut jobs: Vec<(String, PathBuf)> = Vec::new();
        let static_dir = self.root.join("static");
        if static_dir.is_dir() {
            for entry in WalkDir::new(&static_dir) {
                let entry =
                    entry.with_context(|| format!("读取 `{}` 失败", static_dir.display()))?;
                if entry.file_type().is_file() {
                    let rel = entry
                        .path()
                        .strip_prefix(&static_dir)
                        .unwrap_or(entry.path());
                    jobs.push((rel.to_string_lossy().replace('\\', "/"), entry.into_path()));
                }
            }
        }
        for page in &self.content.pages {
            jobs.extend(
                page.assets
                    .iter()
                    .map(|(url, file)| (url.trim_start_matches('/').to_string(), file.clone())),
            );
        }
        for section in &self.content.sections {
            jobs.extend(
                section
                    .assets
                    .iter()
                    .map(|(url, file)| (url.trim_start_matches('/').to_string(), file.clone())),
            );
        }
        jobs.par_iter()
            .try_for_each(|(path, file)| out.copy(path, file))?;
        Ok(jobs.into_iter().map(|(path, _)| path).collect())
    }
}

/// Renders markdown bodies with shortcodes, for a whole build or one edited page.
struct BodyRenderer<'a> {
    kinds: HashMap<String, Kind>,
    permalinks: &'a HashMap<String, String>,
    config_value: Value,
}

impl<'a> BodyRenderer<'a> {
    fn new(site: &Site, permalinks: &'a HashMap<String, String>) -> BodyRenderer<'a> {
        BodyRenderer {
            kinds: site.shortcode_kinds(),
            permalinks,
            config_value: serde_json::to_value(&site.config).unwrap_or(Value::Null),
        }
    }

    fn page(&self, site: &Site, index: usize) -> (Body, Vec<String>) {
        let page = &site.content.pages[index];
        let permalink = &self.permalinks[&page.relative_path];
        let colocated = page
            .relative_path
            .ends_with("index.md")
            .then(|| page.relative_path.trim_end_matches("index.md").to_string());
        let light = json!({
            "title": page.meta.title, "path": page.path, "relative_path": page.relative_path,
            "permalink": permalink, "extra": toml_to_json(&page.meta.extra),
            "colocated_path": colocated,
        });
        self.render(site, &page.raw, light, permalink)
    }

    fn section(&self, site: &Site, index: usize) -> (Body, Vec<String>) {
        let section = &site.content.sections[index];
        let permalink = &self.permalinks[&section.relative_path];
        let light = json!({
            "title": section.meta.title, "path": section.path,
            "relative_path": section.relative_path, "permalink": permalink,
            "extra": toml_to_json(&section.meta.extra),
        });
        self.render(site, &section.raw, light, permalink)
    }

    fn render(&self, site: &Site, raw: &str, light: Value, permalink: &str) -> (Body, Vec<String>) {
        let kind_of = |name: &str| self.kinds.get(name).copied();
        let mut render_call = |call: &shortcode::Call| -> Result<String> {
            let mut ctx = tera::Context::new();
            for (k, v) in &call.args {
                ctx.insert(k.as_str(), v);
            }
            ctx.insert("nth", &call.nth);
            ctx.insert("page", &light);
            ctx.insert("config", &self.config_value);
            ctx.insert("lang", &site.config.default_language);
            if let Some(body) = &call.body {
                ctx.insert("body", body);
            }
            let ext = if kind_of(&call.name) == Some(Kind::Markdown) {
                "md"
            } else {
                "html"
            };
            site.templates
                .render(&format!("shortcodes/{}.{ext}", call.name), &ctx)
        };
        let expanded = match shortcode::expand(raw, &kind_of, &mut render_call) {
            Ok(expanded) => expanded,
            Err(e) => return (Body::default(), vec![format!("{e:#}")]),
        };
        let resolve = |path: &str| self.permalinks.get(path).cloned();
        let rendered = markdown::render(&expanded.markdown, permalink, &resolve);
        let html = shortcode::restore(&rendered.html, &expanded.html);
        let summary = rendered
            .summary
            .map(|s| shortcode::restore(&s, &expanded.html));
        let text = markdown::plain_text(&html);
        let duplicates = rendered.duplicate_ids.iter().map(|id| {
            format!("小标题锚点 `{{#{id}}}` 用了不止一次：同一页的锚点不能重复，请改成不同的名字")
        });
        let errors = rendered
            .broken_links
            .iter()
            .map(|l| {
                format!("链接 `{l}` 指向的内容文件不存在：请写成 @/栏目/文件名.md，路径相对于 content 目录")
            })
            .chain(duplicates)
            .collect();
        let body = Body {
            word_count: cjk::word_count(&text),
            reading_time: cjk::reading_time(&text),
            content: html,
            summary,
            toc: rendered.toc,
            text,
        };
        (body, errors)
    }
}

/// `guide/online/index.html` for `/guide/online/`.
pub fn output_path(url_path: &str) -> String {
    format!("{}index.html", url_path.trim_start_matches('/'))
}

/// Moves a rendered body out for a template value, leaving the counts and, when the search
/// index needs it, the text.
fn take_body(body: &mut Body, keep_text: bool) -> Body {
    let text = if keep_text {
        body.text.clone()
    } else {
        String::new()
    };
    let taken = std::mem::take(body);
    body.text = text;
    body.word_count = taken.word_count;
    body.reading_time = taken.reading_time;
    taken
}

fn insert_body(object: &mut serde_json::Map<String, Value>, body: Body) {
    object.insert(
        "toc".into(),
        serde_json::to_value(&body.toc).unwrap_or(Value::Null),
    );
    object.insert("content".into(), Value::String(body.content));
    object.insert(
        "summary".into(),
        body.summary.map(Value::String).unwrap_or(Value::Null),
    );
    object.insert("word_count".into(), json!(body.word_count));
    object.insert("reading_time".into(), json!(body.reading_time));
}

fn light_page(value: &Value) -> Value {
    let mut out = serde_json::Map::new();
    for key in [
        "title",
        "description",
        "date",
        "path",
        "permalink",
        "relative_path",
        "extra",
        "summary",
        "weight",
    ] {
        if let Some(v) = value.get(key) {
            out.insert(key.into(), v.clone());
        }
    }
    Value::Object(out)
}

fn toml_to_json(table: &toml::Table) -> Value {
    serde_json::to_value(table).unwrap_or(Value::Null)
}

fn check_unique_paths(content: &Content, problems: &mut Vec<Problem>) {
    let mut seen: HashMap<String, &str> = HashMap::new();
    let pages = content
        .pages
        .iter()
        .map(|p| (p.path.clone(), p.relative_path.as_str()));
    let sections = content
        .sections
        .iter()
        .map(|s| (s.path.clone(), s.relative_path.as_str()));
    for (path, file) in sections.chain(pages) {
        if let Some(other) = seen.insert(path.clone(), file) {
            problems.push(Problem {
                file: format!("content/{file}"),
                message: format!(
                    "网址 `{path}` 与 `content/{other}` 重复：请修改其中一个的 slug 或 path"
                ),
            });
        }
    }
    // An alias must not hide a page or another alias: the redirect would replace it.
    let aliases = content
        .pages
        .iter()
        .map(|p| (&p.meta.aliases, p.relative_path.as_str()))
        .chain(
            content
                .sections
                .iter()
                .map(|s| (&s.meta.aliases, s.relative_path.as_str())),
        );
    for (list, file) in aliases {
        for alias in list {
            let path = if alias.ends_with(".html") {
                format!("/{}", alias.trim_matches('/'))
            } else {
                format!("/{}/", alias.trim_matches('/')).replace("//", "/")
            };
            if let Some(other) = seen.insert(path.clone(), file) {
                problems.push(Problem {
                    file: format!("content/{file}"),
                    message: format!(
                        "别名 `{alias}` 与 `content/{other}` 的网址或别名相同：跳转会盖住那个页面，请换一个别名"
                    ),
                });
            }
        }
    }
}

/// A page that sends the reader on to `target`, with a link for when refresh is off.
pub fn redirect_html(target: &str, lang: &str) -> String {
    let target = crate::templates::escape_html(target);
    format!(
        "<!doctype html>\n<html lang=\"{lang}\"><head><meta charset=\"utf-8\">\
         <title>页面已移动</title><link rel=\"canonical\" href=\"{target}\">\
         <meta http-equiv=\"refresh\" content=\"0; url={target}\"></head>\
         <body><p>本页已移到 <a href=\"{target}\">{target}</a>。</p></body></html>\n"
    )
}
