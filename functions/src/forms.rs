//! Form definitions: each form is data in `content/forms/<id>.toml`, and that one
//! definition drives the HTML form, validation, the stored record, the API description and
//! the export.

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::{bail, Context, Result};
use serde::{Deserialize, Serialize};

/// Who fills a form in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Audience {
    /// Employers and the public, online (网上自助).
    Public,
    /// Office staff entering data for someone (窗口代录).
    Staff,
}

/// What the form tells people about their data, shown on every form.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Privacy {
    /// Why the data is collected.
    pub purpose: String,
    /// How long it is kept.
    pub retention: String,
    /// Whom to ask about it.
    pub contact: String,
}

/// The kind of a field, which decides its control and its check.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FieldKind {
    /// One line of free text.
    Text,
    /// Several lines of free text.
    Textarea,
    /// A person's name.
    Name,
    /// One of `options`, as a drop-down.
    Select,
    /// One of `options`, as radio buttons.
    Radio,
    /// Any of `options`, as check boxes.
    Checkboxes,
    /// A date.
    Date,
    /// A citizen ID number (公民身份号码).
    IdNumber,
    /// A unified social credit code.
    CreditCode,
    /// An organisation code.
    OrgCode,
    /// A credit code or an organisation code.
    UnitCode,
    /// A mobile number.
    Mobile,
    /// A landline number.
    Landline,
    /// A mobile or landline number.
    Phone,
    /// A postcode.
    Postcode,
    /// An Inner Mongolia division code.
    DivisionCode,
    /// An e-mail address.
    Email,
    /// A whole number within `min` and `max`.
    Integer,
    /// An amount in whole yuan.
    MoneyYuan,
}

/// One field of a form.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Field {
    /// The key in submissions and stored records (ASCII, snake_case).
    pub key: String,
    /// The Chinese label.
    pub label: String,
    /// What to enter, shown under the label.
    #[serde(default)]
    pub help: Option<String>,
    /// The kind of value.
    #[serde(rename = "type")]
    pub kind: FieldKind,
    /// Whether it must be filled in.
    #[serde(default)]
    pub required: bool,
    /// Allowed values for select, radio and check boxes.
    #[serde(default)]
    pub options: Vec<String>,
    /// A valid example value, shown in help and used by tests.
    #[serde(default)]
    pub example: Option<String>,
    /// Longest text allowed, in characters (default 200 for text, 2000 for textarea).
    #[serde(default)]
    pub max_length: Option<usize>,
    /// Smallest number allowed.
    #[serde(default)]
    pub min: Option<i64>,
    /// Largest number allowed.
    #[serde(default)]
    pub max: Option<i64>,
    /// Whether the value is personal data to mask in receipts and logs.
    #[serde(default)]
    pub personal: bool,
    /// The HTML `autocomplete` token, such as `tel` or `name`.
    #[serde(default)]
    pub autocomplete: Option<String>,
}

/// A titled set of single fields.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Fieldset {
    /// Its title, shown as the legend.
    pub title: String,
    /// Its fields.
    pub fields: Vec<Field>,
}

/// A repeatable group of fields: one row per unit or per person.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Group {
    /// The key in submissions.
    pub key: String,
    /// Its title.
    pub title: String,
    /// What one row is, e.g. 单位 or 人员.
    pub row_label: String,
    /// Help shown above the rows.
    #[serde(default)]
    pub help: Option<String>,
    /// Fewest rows (default 1).
    #[serde(default = "one")]
    pub min_rows: usize,
    /// Most rows (default 50).
    #[serde(default = "fifty")]
    pub max_rows: usize,
    /// The fields of one row.
    pub fields: Vec<Field>,
}

fn one() -> usize {
    1
}

fn fifty() -> usize {
    50
}

/// A rule across fields, checked after each field's own check.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum Rule {
    /// `end` is not before `start` (both dates).
    DateOrder {
        /// The group the fields are in, or none for single fields.
        #[serde(default)]
        group: Option<String>,
        /// The start date field.
        start: String,
        /// The end date field.
        end: String,
    },
    /// Sex and birth date agree with the ID number.
    IdMatches {
        /// The group the fields are in.
        #[serde(default)]
        group: Option<String>,
        /// The ID number field.
        id: String,
        /// The sex field.
        #[serde(default)]
        sex: Option<String>,
        /// The birth date field.
        #[serde(default)]
        birth: Option<String>,
    },
    /// `field` is required when `when` has one of `equals`.
    RequiredIf {
        /// The group the fields are in.
        #[serde(default)]
        group: Option<String>,
        /// The field that becomes required.
        field: String,
        /// The field looked at.
        when: String,
        /// The values that make it required.
        equals: Vec<String>,
    },
    /// `total` equals the sum of `parts`.
    SumEquals {
        /// The group the fields are in.
        #[serde(default)]
        group: Option<String>,
        /// The total field.
        total: String,
        /// The fields that add up to it.
        parts: Vec<String>,
    },
    /// A year (a whole number) before the current year, such as the year a report covers.
    BeforeCurrentYear {
        /// The group the field is in.
        #[serde(default)]
        group: Option<String>,
        /// The year field.
        field: String,
    },
    /// No two rows of a group have the same value in `field` (the same person twice).
    Unique {
        /// The group.
        group: String,
        /// The field that must differ.
        field: String,
    },
    /// The person with the ID number in `id` is at least `years` old on the date in `on`
    /// (or today).
    MinAge {
        /// The group the fields are in.
        #[serde(default)]
        group: Option<String>,
        /// The ID number field.
        id: String,
        /// The least age.
        years: u32,
        /// The date field the age is reckoned on.
        #[serde(default)]
        on: Option<String>,
    },
    /// A unit with one of `values` in `field` need not file this form: it is told so,
    /// and nothing is stored.
    ExemptIf {
        /// The field looked at.
        field: String,
        /// The values that exempt.
        values: Vec<String>,
        /// What to tell the person.
        message: String,
    },
}

/// A whole form.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FormDef {
    /// The form's id, as in its URL.
    pub id: String,
    /// Its title.
    pub title: String,
    /// Its version; stored with every submission.
    pub version: u32,
    /// What the form is for, shown above it.
    #[serde(default)]
    pub summary: Option<String>,
    /// Who fills it in.
    pub audience: Audience,
    /// The privacy notice.
    pub privacy: Privacy,
    /// Single fields, in titled sets.
    #[serde(default)]
    pub fieldsets: Vec<Fieldset>,
    /// Repeatable groups.
    #[serde(default)]
    pub groups: Vec<Group>,
    /// Rules across fields.
    #[serde(default)]
    pub rules: Vec<Rule>,
    /// What happens after submitting, shown on the confirmation page.
    #[serde(default)]
    pub next_steps: Vec<String>,
}

impl FormDef {
    /// Parses and checks a definition.
    pub fn parse(text: &str) -> Result<FormDef> {
        let def: FormDef = toml::from_str(text).map_err(|e| anyhow::anyhow!("{}", e.message()))?;
        def.check()?;
        Ok(def)
    }

    /// Every single field, in order.
    pub fn fields(&self) -> impl Iterator<Item = &Field> {
        self.fieldsets.iter().flat_map(|s| s.fields.iter())
    }

    /// A single field by key.
    pub fn field(&self, key: &str) -> Option<&Field> {
        self.fields().find(|f| f.key == key)
    }

    /// A group by key.
    pub fn group(&self, key: &str) -> Option<&Group> {
        self.groups.iter().find(|g| g.key == key)
    }

    fn check(&self) -> Result<()> {
        if self.id.is_empty()
            || !self
                .id
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        {
            bail!("表单 id `{}` 只能用小写英文字母、数字和连字符", self.id);
        }
        let mut keys = std::collections::HashSet::new();
        let all = self.fields().map(|f| (None, f)).chain(
            self.groups
                .iter()
                .flat_map(|g| g.fields.iter().map(move |f| (Some(g.key.as_str()), f))),
        );
        for (group, field) in all {
            if field.key.is_empty()
                || !field
                    .key
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
            {
                bail!(
                    "字段 `{}` 的 key 只能用小写英文字母、数字和下划线",
                    field.label
                );
            }
            if !keys.insert((group, field.key.as_str())) {
                bail!("字段 key `{}` 重复：每个字段要有不同的 key", field.key);
            }
            let needs_options = matches!(
                field.kind,
                FieldKind::Select | FieldKind::Radio | FieldKind::Checkboxes
            );
            if needs_options && field.options.is_empty() {
                bail!("字段 `{}` 是选择题，请用 options 列出可选的值", field.key);
            }
        }
        for group in &self.groups {
            if keys.contains(&(None, group.key.as_str())) {
                bail!("分组 key `{}` 与字段重名", group.key);
            }
            if group.min_rows > group.max_rows || group.max_rows == 0 {
                bail!("分组 `{}` 的 min_rows 不能大于 max_rows", group.key);
            }
        }
        for rule in &self.rules {
            self.check_rule(rule)?;
        }
        Ok(())
    }

    fn check_rule(&self, rule: &Rule) -> Result<()> {
        let (group, names): (Option<&String>, Vec<&String>) = match rule {
            Rule::DateOrder { group, start, end } => (group.as_ref(), vec![start, end]),
            Rule::IdMatches {
                group,
                id,
                sex,
                birth,
            } => (
                group.as_ref(),
                std::iter::once(id).chain(sex).chain(birth).collect(),
            ),
            Rule::RequiredIf {
                group, field, when, ..
            } => (group.as_ref(), vec![field, when]),
            Rule::SumEquals {
                group,
                total,
                parts,
            } => (
                group.as_ref(),
                std::iter::once(total).chain(parts).collect(),
            ),
            Rule::ExemptIf { field, .. } => (None, vec![field]),
            Rule::BeforeCurrentYear { group, field } => (group.as_ref(), vec![field]),
            Rule::Unique { group, field } => (Some(group), vec![field]),
            Rule::MinAge { group, id, on, .. } => {
                (group.as_ref(), std::iter::once(id).chain(on).collect())
            }
        };
        for name in names {
            let found = match group {
                Some(g) => self
                    .group(g)
                    .is_some_and(|g| g.fields.iter().any(|f| &f.key == name)),
                None => self.field(name).is_some(),
            };
            if !found {
                bail!("规则引用了不存在的字段 `{name}`：请核对 rules 中的字段 key");
            }
        }
        Ok(())
    }
}

/// All forms of the site, by id.
#[derive(Debug, Clone, Default)]
pub struct Forms {
    /// Definitions by id.
    pub by_id: BTreeMap<String, FormDef>,
}

impl Forms {
    /// Reads every `*.toml` in a folder.
    pub fn load_dir(dir: &Path) -> Result<Forms> {
        let mut forms = Forms::default();
        let entries = std::fs::read_dir(dir)
            .with_context(|| format!("找不到表单目录 `{}`", dir.display()))?;
        let mut paths: Vec<_> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
        paths.sort();
        for path in paths
            .into_iter()
            .filter(|p| p.extension().is_some_and(|e| e == "toml"))
        {
            let text = std::fs::read_to_string(&path)
                .with_context(|| format!("无法读取 `{}`", path.display()))?;
            forms
                .add(&text)
                .with_context(|| format!("表单定义 `{}` 有误", path.display()))?;
        }
        Ok(forms)
    }

    /// The forms compiled into this binary from `content/forms/`.
    pub fn embedded() -> &'static Forms {
        static FORMS: std::sync::OnceLock<Forms> = std::sync::OnceLock::new();
        FORMS.get_or_init(|| {
            let mut forms = Forms::default();
            for (name, text) in EMBEDDED {
                if let Err(e) = forms.add(text) {
                    panic!("built-in form `{name}` is invalid: {e:#}");
                }
            }
            forms
        })
    }

    fn add(&mut self, text: &str) -> Result<()> {
        let def = FormDef::parse(text)?;
        if self.by_id.contains_key(&def.id) {
            bail!("表单 id `{}` 重复", def.id);
        }
        self.by_id.insert(def.id.clone(), def);
        Ok(())
    }

    /// A form by id.
    pub fn get(&self, id: &str) -> Option<&FormDef> {
        self.by_id.get(id)
    }
}

include!(concat!(env!("OUT_DIR"), "/embedded_forms.rs"));
