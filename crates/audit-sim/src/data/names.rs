//! Word lists the generators draw from.

/// Given names.
pub const FIRST: &[&str] = &[
    "Priya", "Tomás", "Kenji", "Dana", "Samir", "Marco", "Lena", "Aisha", "Jonas", "Mei", "Olu",
    "Sofia", "Rafael", "Ingrid", "Chen", "Fatima", "Liam", "Noor", "Mateo", "Hana", "Viktor",
    "Amara", "Ethan", "Zara", "Luca", "Yuki", "Omar", "Clara", "Diego", "Anika", "Felix", "Leila",
    "Pavel", "Grace", "Kwame", "Elif", "Nils", "Rosa", "Arjun", "Maya",
];

/// Family names.
pub const LAST: &[&str] = &[
    "Raman",
    "Oliveira",
    "Mori",
    "Whitfield",
    "Haddad",
    "Bellini",
    "Fischer",
    "Okafor",
    "Berg",
    "Tanaka",
    "Adeyemi",
    "Rossi",
    "Costa",
    "Larsen",
    "Wei",
    "Khan",
    "Murphy",
    "Aziz",
    "Garcia",
    "Sato",
    "Novak",
    "Mensah",
    "Clarke",
    "Ahmed",
    "Romano",
    "Ito",
    "Farouk",
    "Schulz",
    "Herrera",
    "Sharma",
    "Weber",
    "Karimi",
    "Petrov",
    "Nakamura",
    "Boateng",
    "Yilmaz",
    "Lindqvist",
    "Moreno",
    "Iyer",
    "Cohen",
];

/// Places, as Zendesk writes them in `metadata.system.location`, with coordinates.
pub const PLACES: &[(&str, f64, f64)] = &[
    ("Lyon, ARA, France", 45.7485, 4.8467),
    ("Porto, 13, Portugal", 41.1496, -8.611),
    ("Leeds, ENG, United Kingdom", 53.7965, -1.5478),
    ("Singapore, 00, Singapore", 1.29, 103.85),
    ("San Francisco, CA, United States", 37.7749, -122.4194),
    ("Berlin, BE, Germany", 52.52, 13.405),
    ("Osaka, 27, Japan", 34.6937, 135.5023),
    ("Toronto, ON, Canada", 43.6532, -79.3832),
    ("Nairobi, 30, Kenya", -1.2921, 36.8219),
    ("São Paulo, SP, Brazil", -23.5505, -46.6333),
];

/// Browser and API-client user agents.
pub const CLIENTS: &[&str] = &[
    "Mozilla/5.0 (X11; Linux x86_64; rv:123.0) Gecko/20100101 Firefox/123.0",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_3) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.3 Safari/605.1.15",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/122.0.0.0 Safari/537.36",
    "Zendesk for iPhone/5.9.2",
    "zendesk_api_ruby/3.1.0",
    "python-requests/2.31.0",
];

/// Ticket subjects.
pub const SUBJECTS: &[&str] = &[
    "Refund not received for order",
    "Cannot log in to my account",
    "Parcel marked delivered but missing",
    "Invoice copy for March",
    "Change of shipping address",
    "Damaged item in delivery",
    "Question about subscription renewal",
    "App crashes when uploading a photo",
    "Wrong size sent",
    "Cancel my order",
    "Password reset e-mail never arrives",
    "Bulk discount for schools",
];

/// Tags.
pub const TAGS: &[&str] = &[
    "refund",
    "order_issue",
    "vip",
    "billing",
    "shipping",
    "login",
    "bug",
    "mobile",
    "urgent",
    "finance_review",
    "invoice_copy",
    "returns",
    "subscription",
    "chat",
    "voice",
];

/// Agent comment bodies.
pub const AGENT_REPLIES: &[&str] = &[
    "Thanks for reaching out. I have escalated this to our finance team.",
    "Could you send us a photo of the label on the parcel?",
    "Refund approved, it will show on your statement within 5 days.",
    "I have reset the login for you; please try again and let us know.",
    "Return was scanned at the Leeds warehouse. Escalating to finance for the refund.",
    "We have shipped a replacement with express delivery.",
    "Internal note: customer called twice about this, please prioritise.",
];

/// End-user comment bodies.
pub const CUSTOMER_MESSAGES: &[&str] = &[
    "Hello, I returned my order three weeks ago and the refund has still not arrived.",
    "I still cannot log in, the reset link says it has expired.",
    "The parcel shows as delivered but nothing arrived.",
    "Thanks, that solved it!",
    "Any news on this? It has been a week.",
    "Please cancel the order, I no longer need it.",
];

/// Trigger, automation and other business-rule titles.
pub const RULES: &[(i64, &str, &str)] = &[
    (
        360011422049,
        "Notify requester of received request",
        "trigger",
    ),
    (360011422050, "Set priority for shipping chats", "trigger"),
    (
        360011422051,
        "Close solved tickets after 4 days",
        "automation",
    ),
    (360011422053, "Send chat transcript", "trigger"),
    (360011422057, "Notify CRM when a ticket closes", "trigger"),
    (360011422061, "Escalate VIP tickets", "trigger"),
    (360011422064, "Pending reminder after 2 days", "automation"),
];

/// Zendesk role names.
pub const ROLES: &[&str] = &[
    "End User",
    "Light Agent",
    "Agent",
    "Team Lead",
    "Administrator",
    "Account Owner",
];

/// Sign-in methods as written in audit-log descriptions.
pub const SIGN_IN_METHODS: &[&str] = &[
    "Zendesk password",
    "Google",
    "Microsoft",
    "SAML single sign-on",
    "JWT single sign-on",
];

/// Genesys queue, flow, role and other object names.
pub const GENESYS_OBJECTS: &[&str] = &[
    "Tier 1 Support",
    "Tier 2 Support",
    "Billing",
    "Main IVR",
    "After Hours",
    "Supervisor",
    "Quality Evaluator",
    "Outbound Sales",
    "Callback Queue",
    "Spanish Support",
    "VIP Line",
    "Default assistant",
    "Holiday Schedule",
    "Web Messaging",
    "Escalations",
];

/// Applications recorded in Genesys `application`.
pub const GENESYS_APPS: &[&str] = &[
    "",
    "Genesys Cloud Admin UI",
    "Architect",
    "terraform-provider-genesyscloud",
    "gc-cli",
    "Genesys Cloud Desktop",
];
