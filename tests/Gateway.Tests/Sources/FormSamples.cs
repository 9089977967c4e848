using System.Net.Http.Headers;
using System.Text;

namespace Gateway.Tests.Sources;

// What the tools really send (shared/sources.md), byte for byte: form-encoded as PHP and Tilda encode it ('+' for a
// space, UTF-8 percent-escapes, key[] for checkbox groups), Elementor's two shapes, CF7's flat JSON.
internal static class FormSamples
{
    public const string TildaHandshake = "test=test";

    // Uzbek Latin field names, a checkbox group, the cookie string with TILDAUTM (itself URL-encoded inside it).
    public const string TildaUzbek =
        "Ism=Aziz+Karimov&Telefon=%2B998+%2890%29+111-22-33&Izoh=Divan+kerak%2C+qo%27ng%27iroq+qiling&Shahar=Toshkent"
        + "&Qiziqish%5B%5D=Divan&Qiziqish%5B%5D=Kreslo&tranid=467251%3A8442970&formid=form789112233"
        + "&COOKIES=_ym_uid%3D1697712345%3B+TILDAUTM%3Dutm_source%253Dinstagram%257C%257C%257Cutm_medium%253Dcpc%257C%257C%257Cutm_campaign%253Dbahor%257C%257C%257C";

    // Имя, Телефон, Комментарий, Город; the phone as typed with the old trunk 8.
    public const string TildaCyrillic =
        "%D0%98%D0%BC%D1%8F=%D0%98%D0%B2%D0%B0%D0%BD+%D0%9F%D0%B5%D1%82%D1%80%D0%BE%D0%B2&%D0%A2%D0%B5%D0%BB%D0%B5%D1%84%D0%BE%D0%BD=8+%28901%29+112233"
        + "&%D0%9A%D0%BE%D0%BC%D0%BC%D0%B5%D0%BD%D1%82%D0%B0%D1%80%D0%B8%D0%B9=%D0%9F%D0%B5%D1%80%D0%B5%D0%B7%D0%B2%D0%BE%D0%BD%D0%B8%D1%82%D0%B5+%D0%BF%D0%BE%D1%81%D0%BB%D0%B5+18%3A00"
        + "&%D0%93%D0%BE%D1%80%D0%BE%D0%B4=%D0%A2%D0%B0%D1%88%D0%BA%D0%B5%D0%BD%D1%82&tranid=467251%3A8442971&formid=form789112234";

    // A shop form: payment is a JSON string.
    public const string TildaShop =
        "Name=Malika&Phone=90+111+22+33&Email=malika%40example.uz"
        + "&payment=%7B%22orderid%22%3A%221234567890%22%2C%22amount%22%3A%221500000%22%2C%22products%22%3A%5B%22Divan+Chester+x+1%22%2C%22Kreslo+x+2%22%5D%2C%22delivery%22%3A%22Yetkazib+berish%22%2C%22delivery_price%22%3A%220%22%7D"
        + "&tranid=467251%3A8442972&formid=form789112235";

    // "Advanced data": fields[<id>][id|type|title|value|raw_value|required], form[…], meta[…][title|value].
    public const string ElementorAdvanced =
        "form%5Bid%5D=a1b2c3d&form%5Bname%5D=Bog%27lanish"
        + "&fields%5Bname%5D%5Bid%5D=name&fields%5Bname%5D%5Btype%5D=text&fields%5Bname%5D%5Btitle%5D=Ism&fields%5Bname%5D%5Bvalue%5D=Dilshod&fields%5Bname%5D%5Braw_value%5D=Dilshod&fields%5Bname%5D%5Brequired%5D=1"
        + "&fields%5Bfield_2%5D%5Bid%5D=field_2&fields%5Bfield_2%5D%5Btype%5D=tel&fields%5Bfield_2%5D%5Btitle%5D=Raqam&fields%5Bfield_2%5D%5Bvalue%5D=%2B998+93+555+44+33&fields%5Bfield_2%5D%5Braw_value%5D=%2B998+93+555+44+33&fields%5Bfield_2%5D%5Brequired%5D=1"
        + "&fields%5Bfield_3%5D%5Bid%5D=field_3&fields%5Bfield_3%5D%5Btype%5D=select&fields%5Bfield_3%5D%5Btitle%5D=Xizmat&fields%5Bfield_3%5D%5Bvalue%5D=Dizayn&fields%5Bfield_3%5D%5Braw_value%5D=Dizayn&fields%5Bfield_3%5D%5Brequired%5D=0"
        + "&meta%5Bdate%5D%5Btitle%5D=Date&meta%5Bdate%5D%5Bvalue%5D=December+1%2C+2026"
        + "&meta%5Bpage_url%5D%5Btitle%5D=Page+URL&meta%5Bpage_url%5D%5Bvalue%5D=https%3A%2F%2Fmebel.uz%2Faloqa%2F"
        + "&meta%5Bremote_ip%5D%5Btitle%5D=Remote+IP&meta%5Bremote_ip%5D%5Bvalue%5D=198.51.100.23"
        + "&meta%5Bcredit%5D%5Btitle%5D=Powered+by&meta%5Bcredit%5D%5Bvalue%5D=Elementor";

    // Simple mode: the fields' labels as keys, plus form_id and form_name.
    public const string ElementorSimple = "Name=Jasur&Email=jasur%40example.uz&Phone=%2B998+97+123+45+67&Message=Narxlar+kerak&form_id=f0e1d2c&form_name=Aloqa";

    // "CF7 to Webhook": a flat JSON object keyed by the form's tag names.
    public const string Cf7 = """{"your-name":"Nodira","your-email":"nodira@example.uz","your-tel":"+998 (99) 876-54-32","your-subject":"Hamkorlik","your-message":"Ulgurji narxlar qanday?"}""";

    public static HttpContent Form(string body) => Bytes(Encoding.ASCII.GetBytes(body), "application/x-www-form-urlencoded");

    public static HttpContent Json(string body) => Bytes(Encoding.UTF8.GetBytes(body), "application/json");

    public static HttpContent Bytes(byte[] body, string contentType)
    {
        var content = new ByteArrayContent(body);
        content.Headers.ContentType = MediaTypeHeaderValue.Parse(contentType);
        return content;
    }
}
