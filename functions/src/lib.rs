//! Form handlers: form definitions, validation, storage with audit stamps, receipts,
//! and the HTML pages of the form flow.

pub mod api;
#[cfg(feature = "export")]
pub mod export;
pub mod forms;
#[cfg(feature = "import")]
pub mod import;
#[cfg(feature = "aws")]
pub mod lambda;
pub mod pages;
pub mod reference;
pub mod store;
pub mod submission;
#[cfg(feature = "export")]
pub mod template;
#[cfg(feature = "upload")]
pub mod upload;
pub mod validate;
pub mod validation;
