namespace Emulator;

// The emulated account's fixed data. Public ids so tests can build requests without reading the lists first.
public static class EmulatorSeed
{
    public const long MainPipelineId = 3177727;
    public const long MainUnsortedStatusId = 32392156;
    public const long MainFirstContactStatusId = 32392159;
    public const long MainDecisionStatusId = 32392165;
    public const long SecondPipelineId = 3177728;
    public const long SecondUnsortedStatusId = 32392170;
    public const long SecondNewStatusId = 32392171;
    public const long SecondNegotiationStatusId = 32392172;
    public const long WonStatusId = 142;
    public const long LostStatusId = 143;

    public const long ProductFieldId = 100001;
    public const string ProductFieldCode = "product_type";
    public const long BudgetFieldId = 100002;
    public const long ChannelFieldId = 100003;
    public const long ChannelInstagramEnumId = 200001;
    public const long ChannelTelegramEnumId = 200002;
    public const long ChannelWebsiteEnumId = 200003;
    public const long InterestsFieldId = 100004;
    public const long InterestsPricingEnumId = 200011;
    public const long InterestsDeliveryEnumId = 200012;
    public const long InterestsSupportEnumId = 200013;
    public const long SiteFieldId = 100005;
    public const long NotesFieldId = 100006;
    public const long UrgencyFieldId = 100007;
    public const long UrgencyHighEnumId = 200021;
    public const long UrgencyLowEnumId = 200022;
    public const long VisitDateFieldId = 100008;
    public const long CallAtFieldId = 100009;
    public const long BirthdayFieldId = 100010;
    public const long AgreedFieldId = 100011;
    public const long ProductKindFieldId = 100012;
    public const string ProductKindFieldName = "Mahsulot turi";
    public const long ProductKindPremiumEnumId = 200031;
    public const long ProductKindStandardEnumId = 200032;

    // Two fields an account's admins gave the same name: a name alone cannot choose between them.
    public const string AmbiguousFieldName = "Manba";
    public const long FirstAmbiguousFieldId = 100013;
    public const long SecondAmbiguousFieldId = 100014;

    public const long UtmSourceFieldId = 100101;
    public const long UtmMediumFieldId = 100102;
    public const long UtmCampaignFieldId = 100103;
    public const long UtmTermFieldId = 100104;
    public const long UtmContentFieldId = 100105;
    public const long UtmReferrerFieldId = 100106;
    public const long YclidFieldId = 100107;
    public const long GclidFieldId = 100108;

    public const long FirstFillerFieldId = 100201;
    public const int FillerFieldCount = 60;
    public const int LeadFieldCount = 14 + 8 + FillerFieldCount;

    public const long PhoneFieldId = 300001;
    public const long PhoneWorkEnumId = 400001;
    public const long PhoneWorkDdEnumId = 400002;
    public const long PhoneMobEnumId = 400003;
    public const long PhoneFaxEnumId = 400004;
    public const long PhoneHomeEnumId = 400005;
    public const long PhoneOtherEnumId = 400006;
    public const long EmailFieldId = 300002;
    public const long EmailWorkEnumId = 400011;
    public const long EmailPrivEnumId = 400012;
    public const long EmailOtherEnumId = 400013;
    public const long PositionFieldId = 300003;
    public const long ContactBirthdayFieldId = 300004;
    public const long LanguageFieldId = 300005;
    public const long LanguageUzbekEnumId = 400021;
    public const long LanguageRussianEnumId = 400022;
    public const long LanguageEnglishEnumId = 400023;

    internal static FieldSet LeadFields { get; } = new("leads", BuildLeadFields());

    internal static FieldSet ContactFields { get; } = new("contacts",
    [
        new(PhoneFieldId, "Телефон", "multitext", "PHONE", 4, true,
        [
            new(PhoneWorkEnumId, "WORK", 2), new(PhoneWorkDdEnumId, "WORKDD", 4), new(PhoneMobEnumId, "MOB", 6),
            new(PhoneFaxEnumId, "FAX", 8), new(PhoneHomeEnumId, "HOME", 10), new(PhoneOtherEnumId, "OTHER", 12),
        ]),
        new(EmailFieldId, "Email", "multitext", "EMAIL", 6, true,
            [new(EmailWorkEnumId, "WORK", 2), new(EmailPrivEnumId, "PRIV", 4), new(EmailOtherEnumId, "OTHER", 6)]),
        new(PositionFieldId, "Должность", "text", "POSITION", 2, true, []),
        new(ContactBirthdayFieldId, "Tug'ilgan kun", "birthday", null, 8, false, []),
        new(LanguageFieldId, "Til", "select", null, 10, false,
            [new(LanguageUzbekEnumId, "O'zbekcha", 1, "uz"), new(LanguageRussianEnumId, "Русский", 2, "ru"), new(LanguageEnglishEnumId, "English", 3, "en")]),
    ]);

    internal static IReadOnlyList<SeedPipeline> Pipelines { get; } =
    [
        new(MainPipelineId, "Воронка", 1, true,
        [
            new(MainUnsortedStatusId, "Неразобранное", 10, false, "#c1c1c1", 1),
            new(MainFirstContactStatusId, "Первичный контакт", 20, true, "#99ccff", 0),
            new(MainDecisionStatusId, "Принимают решение", 30, true, "#ffcc66", 0),
            new(WonStatusId, "Успешно реализовано", 10000, false, "#CCFF66", 0),
            new(LostStatusId, "Закрыто и не реализовано", 11000, false, "#D5D8DB", 0),
        ]),
        new(SecondPipelineId, "Sotuv", 2, false,
        [
            new(SecondUnsortedStatusId, "Неразобранное", 10, false, "#c1c1c1", 1),
            new(SecondNewStatusId, "Yangi murojaat", 20, true, "#99ccff", 0),
            new(SecondNegotiationStatusId, "Muzokara", 30, true, "#ffcc66", 0),
            new(WonStatusId, "Успешно реализовано", 10000, false, "#CCFF66", 0),
            new(LostStatusId, "Закрыто и не реализовано", 11000, false, "#D5D8DB", 0),
        ]),
    ];

    // The official GET /api/v4/account example (with its missing comma fixed); id, name, subdomain and links are patched per request.
    internal const string AccountJson = """
        {
          "id": 1231414,
          "name": "example",
          "subdomain": "example",
          "current_user_id": 581651,
          "country": "RU",
          "customers_mode": "segments",
          "is_unsorted_on": true,
          "is_loss_reason_enabled": true,
          "is_helpbot_enabled": false,
          "is_technical_account": false,
          "is_api_filter_enabled": true,
          "contact_name_display_order": 1,
          "amojo_id": "f3c6340d-410e-4ad1-9f7e-c5e663599909",
          "uuid": "824f3a59-6154-4edf-ba90-0b5593715d07",
          "drive_url": "https://drive-b.amocrm.ru",
          "version": 16,
          "entity_names": {
            "leads": {
              "ru": {
                "gender": "m",
                "plural_form": { "dative": "клиентам", "default": "клиенты", "genitive": "клиентов", "accusative": "клиентов", "instrumental": "клиентами", "prepositional": "клиентах" },
                "singular_form": { "dative": "клиенту", "default": "клиент", "genitive": "клиента", "accusative": "клиента", "instrumental": "клиентом", "prepositional": "клиенте" }
              },
              "en": { "singular_form": { "default": "lead" }, "plural_form": { "default": "leads" }, "gender": "f" },
              "es": { "singular_form": { "default": "acuerdo" }, "plural_form": { "default": "acuerdos" }, "gender": "m" }
            }
          },
          "_links": { "self": { "href": "https://example.amocrm.ru/api/v4/account" } },
          "_embedded": {
            "amojo_rights": { "can_direct": true, "can_create_groups": true },
            "users_groups": [ { "id": 0, "name": "Отдел продаж", "uuid": null } ],
            "task_types": [
              { "id": 1, "name": "Связаться", "color": null, "icon_id": null, "code": "FOLLOW_UP" },
              { "id": 2, "name": "Встреча", "color": null, "icon_id": null, "code": "MEETING" }
            ],
            "datetime_settings": {
              "date_pattern": "d.m.Y H:i",
              "short_date_pattern": "d.m.Y",
              "short_time_pattern": "H:i",
              "date_formant": "d.m.Y",
              "time_format": "H:i:s",
              "timezone": "Europe/Moscow",
              "timezone_offset": "+03:00"
            }
          }
        }
        """;

    internal static SeedPipeline? FindPipeline(long id) => Pipelines.FirstOrDefault(p => p.Id == id);

    private static List<SeedField> BuildLeadFields()
    {
        List<SeedField> fields =
        [
            new(ProductFieldId, "Product", "text", ProductFieldCode, 500, false, []),
            new(BudgetFieldId, "Budget", "numeric", null, 501, false, []),
            new(ChannelFieldId, "Channel", "select", null, 502, false,
                [new(ChannelInstagramEnumId, "Instagram", 1, "IG"), new(ChannelTelegramEnumId, "Telegram", 2, "TG"), new(ChannelWebsiteEnumId, "Website", 3, "WEB")]),
            new(InterestsFieldId, "Interests", "multiselect", null, 503, false,
                [new(InterestsPricingEnumId, "Pricing", 1, "pricing"), new(InterestsDeliveryEnumId, "Delivery", 2, "delivery"), new(InterestsSupportEnumId, "Support", 3, "support")]),
            new(SiteFieldId, "Site", "url", null, 504, false, []),
            new(NotesFieldId, "Notes", "textarea", null, 505, false, []),
            new(UrgencyFieldId, "Urgency", "radiobutton", null, 506, false,
                [new(UrgencyHighEnumId, "High", 1, "high"), new(UrgencyLowEnumId, "Low", 2, "low")]),
            new(VisitDateFieldId, "Visit date", "date", null, 507, false, []),
            new(CallAtFieldId, "Call at", "date_time", null, 508, false, []),
            new(BirthdayFieldId, "Birthday", "birthday", null, 509, false, []),
            new(AgreedFieldId, "Agreed to terms", "checkbox", null, 510, false, []),
            new(ProductKindFieldId, ProductKindFieldName, "select", null, 511, false,
                [new(ProductKindPremiumEnumId, "Premium", 1, "premium"), new(ProductKindStandardEnumId, "Standart", 2, "standard")]),
            new(FirstAmbiguousFieldId, AmbiguousFieldName, "text", null, 512, false, []),
            new(SecondAmbiguousFieldId, AmbiguousFieldName, "text", null, 513, false, []),
            Tracking(UtmSourceFieldId, "utm_source", "UTM_SOURCE"),
            Tracking(UtmMediumFieldId, "utm_medium", "UTM_MEDIUM"),
            Tracking(UtmCampaignFieldId, "utm_campaign", "UTM_CAMPAIGN"),
            Tracking(UtmTermFieldId, "utm_term", "UTM_TERM"),
            Tracking(UtmContentFieldId, "utm_content", "UTM_CONTENT"),
            Tracking(UtmReferrerFieldId, "utm_referrer", "UTM_REFERRER"),
            Tracking(YclidFieldId, "yclid", "YCLID"),
            Tracking(GclidFieldId, "gclid", "GCLID"),
        ];
        for (var i = 0; i < FillerFieldCount; i++)
        {
            fields.Add(new(FirstFillerFieldId + i, $"Extra field {i + 1}", "text", null, 1000 + i, false, []));
        }

        return fields;
    }

    private static SeedField Tracking(long id, string name, string code) => new(id, name, "tracking_data", code, 600 + (int)(id % 100), true, []);
}

// Code: a select option's enum_code (null where the account set none); multitext enums are their own code (WORK, MOB …).
internal sealed record SeedEnum(long Id, string Value, int Sort, string? Code = null);

internal sealed record SeedField(long Id, string Name, string Type, string? Code, int Sort, bool IsPredefined, IReadOnlyList<SeedEnum> Enums)
{
    public bool HasEnums => Type is "select" or "multiselect" or "radiobutton" or "multitext";
}

internal sealed record SeedStatus(long Id, string Name, int Sort, bool IsEditable, string Color, int Type);

internal sealed record SeedPipeline(long Id, string Name, int Sort, bool IsMain, IReadOnlyList<SeedStatus> Statuses)
{
    public long UnsortedStatusId => Statuses.First(s => s.Type == 1).Id;
}

internal sealed class FieldSet(string entityType, IReadOnlyList<SeedField> fields)
{
    private readonly Dictionary<long, SeedField> _byId = fields.ToDictionary(f => f.Id);
    private readonly Dictionary<string, SeedField> _byCode = fields.Where(f => f.Code is not null).ToDictionary(f => f.Code!, StringComparer.Ordinal);

    public string EntityType { get; } = entityType;

    public IReadOnlyList<SeedField> All { get; } = fields;

    public SeedField? FindById(long id) => _byId.GetValueOrDefault(id);

    // Codes are case-sensitive; only the account's predefined fields (PHONE, EMAIL, UTM_SOURCE …) are found in any case.
    public SeedField? FindByCode(string code) =>
        _byCode.GetValueOrDefault(code)
        ?? All.FirstOrDefault(f => f.IsPredefined && string.Equals(f.Code, code, StringComparison.OrdinalIgnoreCase));
}
