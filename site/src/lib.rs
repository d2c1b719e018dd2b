//! A Zola-compatible static-site generator with first-class Chinese text.
//!
//! The build is a sequence: load the config, load the content tree, render markdown,
//! render templates, write the output. Each step lives in its own module.

pub mod check;
pub mod cjk;
pub mod config;
pub mod content;
pub mod frontmatter;
pub mod markdown;
pub mod output;
pub mod search;
pub mod serve;
pub mod sheets;
pub mod shortcode;
pub mod site;
pub mod slug;
pub mod templates;
