using System.Globalization;
using System.Text.Json.Nodes;

namespace Gateway.Events;

// One short plain-text message per event, in the chat's language (uz, ru, en). Plain text: no markup to escape,
// so a lead named "<b>" or "*" arrives as typed.
internal static class TelegramTemplates
{
    public static readonly IReadOnlyList<string> Languages = ["uz", "ru", "en"];

    public static string Render(string type, JsonObject envelope, string language, Uri? publicUrl)
    {
        var data = envelope["data"] as JsonObject ?? [];
        var account = Text(envelope["account"]);
        string V(string key) => Text(data[key]);
        var (uz, ru, en) = type switch
        {
            EventTypes.LeadDelivered => (
                $"🆕 Yangi lid: {V("name")}\nTelefon: {V("phone")}\nManba: {V("source")}\namoCRM: #{V("amo_lead_id")}",
                $"🆕 Новая заявка: {V("name")}\nТелефон: {V("phone")}\nИсточник: {V("source")}\namoCRM: #{V("amo_lead_id")}",
                $"🆕 New lead: {V("name")}\nPhone: {V("phone")}\nSource: {V("source")}\namoCRM: #{V("amo_lead_id")}"),
            EventTypes.LeadFailed => (
                $"⚠️ Lid amoCRM'ga yetkazilmadi: {V("name")} {V("phone")}\nSabab: {Reason(data)}",
                $"⚠️ Заявка не доставлена в amoCRM: {V("name")} {V("phone")}\nПричина: {Reason(data)}",
                $"⚠️ Lead not delivered to amoCRM: {V("name")} {V("phone")}\nReason: {Reason(data)}"),
            EventTypes.LeadRejected => (
                $"⚠️ Forma arizasi qabul qilinmadi ({V("source")}): {Reason(data)}",
                $"⚠️ Заявка с формы не принята ({V("source")}): {Reason(data)}",
                $"⚠️ Form submission rejected ({V("source")}): {Reason(data)}"),
            EventTypes.AccountConsentNeeded => (
                $"🔑 {account} hisobi uchun amoCRM ruxsatini qayta berish kerak: {ConsentLink(publicUrl, account)}",
                $"🔑 Аккаунту {account} нужно заново дать доступ в amoCRM: {ConsentLink(publicUrl, account)}",
                $"🔑 Account {account} needs amoCRM consent again: {ConsentLink(publicUrl, account)}"),
            EventTypes.QueueStuck => (
                $"⏳ {account} navbati {V("minutes")} daqiqadan beri yurmayapti: {V("queued")} ta lid kutmoqda",
                $"⏳ Очередь {account} стоит уже {V("minutes")} мин.: ждут {V("queued")} заявок",
                $"⏳ The queue of {account} has not moved for {V("minutes")} minutes: {V("queued")} leads waiting"),
            AmoWebhookDecoder.LeadAdded => (
                $"🆕 amoCRM'da yangi lid #{V("id")}: {V("name")}",
                $"🆕 Новая сделка в amoCRM #{V("id")}: {V("name")}",
                $"🆕 New amoCRM lead #{V("id")}: {V("name")}"),
            AmoWebhookDecoder.LeadStatusChanged => (
                $"🔄 Lid #{V("id")}: bosqich {V("old_status_id")} → {V("status_id")} (voronka {V("pipeline_id")})",
                $"🔄 Сделка #{V("id")}: этап {V("old_status_id")} → {V("status_id")} (воронка {V("pipeline_id")})",
                $"🔄 Lead #{V("id")}: status {V("old_status_id")} → {V("status_id")} (pipeline {V("pipeline_id")})"),
            AmoWebhookDecoder.LeadResponsibleChanged => (
                $"👤 Lid #{V("id")}: mas'ul {V("old_responsible_user_id")} → {V("responsible_user_id")}",
                $"👤 Сделка #{V("id")}: ответственный {V("old_responsible_user_id")} → {V("responsible_user_id")}",
                $"👤 Lead #{V("id")}: responsible user {V("old_responsible_user_id")} → {V("responsible_user_id")}"),
            AmoWebhookDecoder.ContactAdded => (
                $"👤 amoCRM'da yangi kontakt #{V("id")}: {V("name")}",
                $"👤 Новый контакт в amoCRM #{V("id")}: {V("name")}",
                $"👤 New amoCRM contact #{V("id")}: {V("name")}"),
            AmoWebhookDecoder.NoteAdded => (
                $"📝 #{V("element_id")} ga izoh: {V("text")}",
                $"📝 Примечание к #{V("element_id")}: {V("text")}",
                $"📝 Note on #{V("element_id")}: {V("text")}"),
            _ => ($"{type} #{V("id")}", $"{type} #{V("id")}", $"{type} #{V("id")}"),
        };
        var text = language switch { "uz" => uz, "ru" => ru, _ => en };
        // Telegram's limit is 4096 characters.
        return text.Length > 4000 ? text[..4000] + "…" : text;
    }

    private static string Reason(JsonObject data) => data["reason"] switch
    {
        JsonObject o => Text(o["description"]),
        var other => Text(other),
    };

    private static string ConsentLink(Uri? publicUrl, string account) =>
        publicUrl is null ? "/oauth/authorize?account=" + Uri.EscapeDataString(account) : new Uri(publicUrl, "/oauth/authorize?account=" + Uri.EscapeDataString(account)).AbsoluteUri;

    private static string Text(JsonNode? node) => node switch
    {
        JsonValue v when v.TryGetValue<string>(out var s) => s,
        JsonValue v when v.TryGetValue<long>(out var l) => l.ToString(CultureInfo.InvariantCulture),
        JsonValue v => v.ToJsonString(),
        null => "—",
        _ => node.ToJsonString(),
    };
}
