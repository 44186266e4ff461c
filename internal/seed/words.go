package seed

// The vocabulary the seed builds names, descriptions and reviews from. Real
// words, so that the catalog reads like a shop and searching it means
// something: a product's kind is also in its category's name.

// kind is a kind of product: the noun in its name and in its category's.
type kind struct {
	singular, plural string
	uses             []string
}

var kinds = []kind{
	{"Shoe", "Shoes", []string{"long walks", "city streets", "the office"}},
	{"Boot", "Boots", []string{"muddy trails", "winter mornings", "rainy days"}},
	{"Sneaker", "Sneakers", []string{"running errands", "the gym", "weekend walks"}},
	{"Jacket", "Jackets", []string{"cold evenings", "windy hikes", "the commute"}},
	{"Coat", "Coats", []string{"deep winter", "formal evenings", "snowy days"}},
	{"Sweater", "Sweaters", []string{"chilly mornings", "cosy evenings", "layering"}},
	{"Shirt", "Shirts", []string{"the office", "summer days", "dinner out"}},
	{"Jeans", "Jeans", []string{"everyday wear", "weekend trips", "work in the garden"}},
	{"Dress", "Dresses", []string{"summer parties", "weddings", "warm evenings"}},
	{"Hat", "Hats", []string{"sunny days", "the beach", "winter walks"}},
	{"Scarf", "Scarves", []string{"cold mornings", "travel", "autumn walks"}},
	{"Glove", "Gloves", []string{"cycling", "snowy days", "gardening"}},
	{"Sock", "Socks", []string{"hiking", "running", "lazy Sundays"}},
	{"Backpack", "Backpacks", []string{"school", "day hikes", "travel"}},
	{"Wallet", "Wallets", []string{"everyday carry", "travel", "gifts"}},
	{"Watch", "Watches", []string{"the office", "diving", "everyday wear"}},
	{"Sunglasses", "Sunglasses", []string{"the beach", "driving", "mountain hikes"}},
	{"Mug", "Mugs", []string{"morning coffee", "tea time", "the office"}},
	{"Teapot", "Teapots", []string{"afternoon tea", "green tea", "guests"}},
	{"Kettle", "Kettles", []string{"the kitchen", "camping", "tea lovers"}},
	{"Plate", "Plates", []string{"family dinners", "parties", "everyday meals"}},
	{"Bowl", "Bowls", []string{"soups", "salads", "breakfast"}},
	{"Knife", "Knives", []string{"the kitchen", "camping", "chefs"}},
	{"Pan", "Pans", []string{"frying eggs", "the kitchen", "searing steak"}},
	{"Lamp", "Lamps", []string{"reading", "the bedroom", "the desk"}},
	{"Chair", "Chairs", []string{"the dining room", "the desk", "the garden"}},
	{"Table", "Tables", []string{"the dining room", "the balcony", "small flats"}},
	{"Rug", "Rugs", []string{"the living room", "the hallway", "cold floors"}},
	{"Pillow", "Pillows", []string{"the sofa", "a good night's sleep", "travel"}},
	{"Blanket", "Blankets", []string{"the sofa", "picnics", "cold nights"}},
	{"Candle", "Candles", []string{"quiet evenings", "the bath", "gifts"}},
	{"Vase", "Vases", []string{"fresh flowers", "the windowsill", "gifts"}},
	{"Clock", "Clocks", []string{"the kitchen", "the living room", "the office"}},
	{"Mirror", "Mirrors", []string{"the hallway", "the bathroom", "small rooms"}},
	{"Headphones", "Headphones", []string{"the commute", "music lovers", "focus"}},
	{"Speaker", "Speakers", []string{"parties", "the kitchen", "the garden"}},
	{"Keyboard", "Keyboards", []string{"writers", "programmers", "gaming"}},
	{"Camera", "Cameras", []string{"travel", "portraits", "nature"}},
	{"Notebook", "Notebooks", []string{"sketching", "journaling", "meetings"}},
	{"Pen", "Pens", []string{"writing letters", "sketching", "the office"}},
	{"Puzzle", "Puzzles", []string{"rainy days", "family evenings", "quiet afternoons"}},
	{"Board Game", "Board Games", []string{"game night", "families", "parties"}},
	{"Kite", "Kites", []string{"windy beaches", "the park", "children"}},
	{"Tent", "Tents", []string{"camping", "festivals", "mountain trips"}},
	{"Bicycle", "Bicycles", []string{"the commute", "country roads", "weekend rides"}},
	{"Helmet", "Helmets", []string{"cycling", "skating", "climbing"}},
	{"Yoga Mat", "Yoga Mats", []string{"yoga", "stretching", "home workouts"}},
	{"Water Bottle", "Water Bottles", []string{"the gym", "hiking", "the office"}},
	{"Umbrella", "Umbrellas", []string{"rainy days", "the beach", "the commute"}},
	{"Towel", "Towels", []string{"the bathroom", "the beach", "the gym"}},
}

// qualifiers make more categories of one kind: "Travel Mugs", "Vintage Lamps".
var qualifiers = []string{"", "Classic", "Modern", "Vintage", "Travel", "Outdoor", "Handmade", "Eco", "Premium", "Compact"}

var brands = []string{
	"Northwind", "Larkspur", "Juniper", "Alder & Co", "Bramble", "Cobalt", "Driftwood", "Ember",
	"Fjord", "Granite", "Harbor", "Ironwood", "Kestrel", "Lumen", "Meadow", "Nimbus",
	"Oakridge", "Pinecrest", "Quarry", "Rowan", "Saltmarsh", "Thistle", "Upland", "Willow",
}

var adjectives = []string{
	"Sturdy", "Lightweight", "Cosy", "Elegant", "Rugged", "Soft", "Slim", "Classic",
	"Everyday", "Compact", "Durable", "Warm", "Breezy", "Handcrafted", "Minimal", "Bold",
}

var colors = []string{
	"Red", "Blue", "Green", "Black", "White", "Grey", "Navy", "Olive",
	"Mustard", "Teal", "Burgundy", "Sand", "Charcoal", "Ivory", "Coral", "Forest",
}

var materials = []string{
	"Wool", "Cotton", "Leather", "Linen", "Bamboo", "Steel", "Ceramic", "Oak",
	"Walnut", "Canvas", "Recycled", "Cashmere", "Glass", "Copper", "Denim", "Cork",
}

var careNotes = []string{
	"Wipe clean with a damp cloth.",
	"Machine washable at thirty degrees.",
	"Comes with a two-year guarantee.",
	"Made in a small family workshop.",
	"Packed in plastic-free packaging.",
	"Ships within two working days.",
}

var firstNames = []string{
	"Ada", "Ben", "Chloe", "Dev", "Elena", "Farid", "Grace", "Hugo", "Ines", "Jonas",
	"Kira", "Liam", "Maya", "Noah", "Olga", "Priya", "Quinn", "Rosa", "Sami", "Tara",
	"Umar", "Vera", "Wen", "Xavier", "Yara", "Zoe",
}

var lastNames = []string{
	"Abbott", "Bianchi", "Chen", "Dubois", "Eriksen", "Fischer", "Garcia", "Haddad",
	"Ivanova", "Jensen", "Kowalski", "Lopez", "Moreau", "Nakamura", "Okafor", "Patel",
	"Quist", "Rossi", "Silva", "Tanaka", "Ueda", "Varga", "Weber", "Young",
}

var reviewOpeners = []string{
	"Exactly as described.", "Better than I expected.", "Good value for the price.",
	"Not quite what I hoped for.", "Arrived quickly and well packed.", "Lovely quality.",
	"Does the job.", "My second one, still happy.", "A bit smaller than I thought.",
	"Bought it as a gift and they loved it.",
}

var reviewClosers = []string{
	"Would buy again.", "The colour is lovely.", "Feels solid.", "Recommended.",
	"Could be cheaper.", "Five stars from me.", "Sizing runs a little small.",
	"Great for everyday use.", "The finish could be better.", "Very comfortable.",
}
