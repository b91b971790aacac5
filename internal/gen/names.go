package gen

// Event names that the funnel signup → activate → purchase uses.
const (
	EventSignup   = "signup"
	EventActivate = "activate"
	EventPurchase = "purchase"
)

// eventWeights are the event names that active users send, with their
// relative frequencies. They fall off roughly as 1/rank, so the first five
// names carry more than half of all events and the last ones are rare. signup
// is not here, because each user sends it exactly once, on their first day.
var eventWeights = []struct {
	name   string
	weight float64
}{
	{"page_view", 1000}, {"screen_view", 520}, {"click", 350}, {"search", 260}, {"session_start", 210},
	{"feature_used", 175}, {"dashboard_viewed", 150}, {"report_viewed", 130}, {"item_viewed", 115}, {"filter_applied", 104},
	{"add_to_cart", 94}, {"notification_opened", 86}, {"comment_added", 80}, {"file_uploaded", 74}, {"share", 69},
	{"export", 65}, {"settings_changed", 61}, {EventPurchase, 58}, {"invite_sent", 55}, {"form_submitted", 52},
	{"video_played", 49}, {"checkout_started", 47}, {"alert_created", 45}, {"integration_connected", 43}, {"tag_added", 41},
	{"project_created", 39}, {"help_opened", 38}, {"feedback_given", 36}, {"profile_updated", 35}, {"login", 34},
	{"logout", 33}, {"api_call", 31}, {"template_used", 30}, {"bookmark_added", 29}, {"trial_started", 28},
	{"plan_viewed", 27}, {"coupon_applied", 27}, {"team_member_added", 26}, {"password_reset", 25}, {"email_verified", 24},
	{"onboarding_step", 24}, {"tutorial_completed", 23}, {"error_shown", 22}, {"support_ticket", 21}, {"rating_given", 21},
	{"referral_sent", 20}, {"subscription_renewed", 20}, {EventActivate, 19}, {"account_deleted", 5},
}

// Plans, countries and their shares among users. Each user keeps one plan
// and one country, so `plan` and `country` are per-user dimensions.
var (
	plans         = []string{"free", "pro", "team", "enterprise"}
	planWeights   = []float64{62, 25, 10, 3}
	countries     = []string{"US", "DE", "GB", "IN", "FR", "BR", "CA", "NL", "ES", "JP", "AU", "PL"}
	countryWeight = []float64{30, 14, 10, 9, 7, 6, 5, 4, 4, 4, 4, 3}
)

// purchaseAmounts are the prices of a purchase on each plan, parallel to
// plans. They are whole numbers, so that sums are exact in float64 and equal
// in every database that sums them.
var purchaseAmounts = [][]int{
	{9, 19, 29},
	{29, 49, 99},
	{99, 199, 299},
	{499, 999, 1999},
}
