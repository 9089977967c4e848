using System.Xml.Linq;
using Microsoft.AspNetCore.DataProtection.Repositories;

namespace Gateway.Data;

// With PostgreSQL the instances share one key ring, so a token encrypted by one is readable by all.
internal sealed class DatabaseXmlRepository(Database database) : IXmlRepository
{
    public IReadOnlyCollection<XElement> GetAllElements()
    {
        using var connection = database.OpenPostgres();
        return Sql.Query(connection, "SELECT xml FROM data_protection_keys ORDER BY name", reader => XElement.Parse(reader.GetString(0)));
    }

    public void StoreElement(XElement element, string friendlyName)
    {
        using var connection = database.OpenPostgres();
        Sql.Execute(
            connection,
            "INSERT INTO data_protection_keys (name, xml) VALUES (@name, @xml) ON CONFLICT (name) DO NOTHING",
            [("name", friendlyName), ("xml", element.ToString(SaveOptions.DisableFormatting))]);
    }
}
