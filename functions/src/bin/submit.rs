//! Lambda function for POST /api/forms/{id} and POST /api/staff/forms/{id}: submissions.

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    beian_functions::lambda::init_logging();
    let app =
        beian_functions::lambda::app_from_env(beian_functions::api::function_routes("submit"))
            .await;
    beian_functions::lambda::run(app).await
}
